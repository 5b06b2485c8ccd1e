/**
 * The `SecretRotation` resource's provider. Creating one rotates the webhook's signing secret once;
 * a new `rotationKey` or `webhookId` replaces it (create-before-delete), which rotates again.
 * A rotation cannot be undone, so delete makes no API call.
 */
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { GeminiApiError } from "gemini-webhooks-client";
import { RevocationBehavior, ROTATION_GRACE_MS } from "gemini-webhooks-client";
import { truncatedMatches } from "gemini-webhooks-client";
import { replacingInputs, SECRET_ROTATION } from "../declarations";
import { checkInputs } from "./check";
import { apiClient, warn } from "./context";
import { isUnknown } from "./unknown";

export interface RotationInputs {
  webhookId: string;
  rotationKey: string;
  revocationBehavior: RevocationBehavior;
}

export interface RotationOutputs extends RotationInputs {
  secret: string;
  rotatedAt: string;
  /** End of the grace window of the secrets this rotation replaced; null with immediate revocation. */
  previousSecretsExpireAt: string | null;
  /** True once a later rotation (by anyone) made this one's secret no longer the newest. */
  superseded: boolean;
}

export async function check(_olds: unknown, news: Record<string, unknown>): Promise<dynamic.CheckResult> {
  return checkInputs(SECRET_ROTATION, news);
}

export async function diff(_id: string, olds: RotationOutputs & { __provider?: string }, news: RotationInputs & { __provider?: string }): Promise<dynamic.DiffResult> {
  const replaces = (replacingInputs(SECRET_ROTATION) as (keyof RotationInputs)[]).filter((k) => isUnknown(news[k]) || news[k] !== olds[k]);
  const changes =
    replaces.length > 0 || news.revocationBehavior !== olds.revocationBehavior || olds.__provider !== news.__provider;
  // Create-before-delete: the new secret exists before anything about the old one changes.
  return { changes, replaces, deleteBeforeReplace: false };
}

export async function create(inputs: RotationInputs): Promise<dynamic.CreateResult> {
  const { secret } = await apiClient().rotateSigningSecret(inputs.webhookId, inputs.revocationBehavior);
  const now = Date.now();
  const immediate = inputs.revocationBehavior === "revoke_previous_secrets_immediately";
  const outs: RotationOutputs = {
    webhookId: inputs.webhookId,
    rotationKey: inputs.rotationKey,
    revocationBehavior: inputs.revocationBehavior,
    secret,
    rotatedAt: new Date(now).toISOString(),
    previousSecretsExpireAt: immediate ? null : new Date(now + ROTATION_GRACE_MS).toISOString(),
    superseded: false,
  };
  return { id: `${inputs.webhookId}/rotation/${now}`, outs };
}

/** Only `revocationBehavior` (it applies to the next rotation) or the provider code changed. */
export async function update(_id: string, olds: RotationOutputs, news: RotationInputs): Promise<dynamic.UpdateResult> {
  return { outs: { ...olds, revocationBehavior: news.revocationBehavior } };
}

export async function read(id: string, props: RotationOutputs): Promise<dynamic.ReadResult> {
  if (props.webhookId === undefined) {
    // `pulumi import` passes only the id, and no API call can return a past rotation's secret.
    throw new Error(
      `gemini:SecretRotation ${id} cannot be imported: the API never returns a signing secret. ` +
        "Import the Webhook, then add a SecretRotation for it: creating one rotates and brings a fresh secret under management.",
    );
  }
  let secrets: { truncated_secret: string; expire_time?: string }[];
  try {
    secrets = (await apiClient().get(props.webhookId)).signing_secrets ?? [];
  } catch (err) {
    // The webhook is gone, and its rotations with it.
    if (err instanceof GeminiApiError && err.isNotFound) return {};
    throw err;
  }
  const newest = secrets.find((s) => s.expire_time === undefined) ?? secrets[0];
  const superseded = !newest || !truncatedMatches(newest.truncated_secret, props.secret);
  if (superseded && !props.superseded) {
    warn(
      `gemini:SecretRotation ${id}: a later rotation of webhook ${props.webhookId} superseded this one; ` +
        `its secret ${secrets.some((s) => truncatedMatches(s.truncated_secret, props.secret)) ? "expires at the end of the grace window" : "is no longer valid"}. ` +
        `Change rotationKey and run \`pulumi up\` to bring a current secret under management.`,
    );
  }
  const { webhookId, rotationKey, revocationBehavior } = props;
  return { id, props: { ...props, superseded }, inputs: { webhookId, rotationKey, revocationBehavior } };
}
