/**
 * Every secret a receiver must accept right now, so a deployed receiver rejects nothing across a
 * rotation: the newest secret, plus the one it replaced while that is inside its grace window.
 */
import * as pulumi from "@pulumi/pulumi";
import type { SecretRotation, Webhook } from "./generated/resources";
import { secretsToAccept } from "./secret-window";

export interface CurrentSecretsSource {
  webhook: Webhook;
  /** The webhook's SecretRotation, if it has one. */
  rotation?: SecretRotation;
  /** The moment to evaluate the grace window at (default: when the program runs). */
  now?: Date;
}

/**
 * Returns the secrets newest first as a secret `Output<string[]>`.
 *
 * Without a rotation: the webhook's creation secret. With one: its secret, plus the creation secret
 * while `previousSecretsExpireAt` is in the future. A secret from an earlier SecretRotation (before
 * the current one replaced it) is not known to the program any more; Gemini signs every delivery
 * with every valid secret, so the newest alone verifies everything sent after the rotation.
 */
export function currentSigningSecrets(source: CurrentSecretsSource): pulumi.Output<string[]> {
  const now = (source.now ?? new Date()).getTime();
  if (!source.rotation) return pulumi.secret(pulumi.output(source.webhook.signingSecret).apply((s) => [s]));
  const rotation = source.rotation;
  return pulumi.secret(
    pulumi
      .all([rotation.secret, rotation.previousSecretsExpireAt, source.webhook.signingSecret])
      .apply(([newest, previousSecretsExpireAt, original]) => secretsToAccept({ newest, original, previousSecretsExpireAt, now })),
  );
}

/** The same list joined for an environment variable such as the receiver's WEBHOOK_SIGNING_SECRETS. */
export function signingSecretsEnv(source: CurrentSecretsSource): pulumi.Output<string> {
  return currentSigningSecrets(source).apply((secrets) => secrets.join(" "));
}
