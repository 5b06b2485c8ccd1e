/** `gemini:SecretRotation`: rotates a webhook's signing secret whenever `rotationKey` changes. */
import * as pulumi from "@pulumi/pulumi";
import { assertApiKeyIsSecret } from "./api-key-guard";
import rotationShim = require("./rotation-shim");
import { withSecretOutputs } from "./webhook";

export interface SecretRotationArgs {
  /** The webhook to rotate (a `Webhook`'s `id`). A new value replaces this resource: a rotation. */
  webhookId: pulumi.Input<string>;
  /** Any string, e.g. a config value `2026-12`; a new value replaces this resource: a rotation. */
  rotationKey: pulumi.Input<string>;
  /**
   * `revoke_previous_secrets_after_h24` (default: older secrets keep working for 24 h) or
   * `revoke_previous_secrets_immediately`. Upper-case spellings from Google's guide are accepted.
   */
  revocationBehavior?: pulumi.Input<string>;
}

export class SecretRotation extends pulumi.dynamic.Resource {
  declare readonly webhookId: pulumi.Output<string>;
  declare readonly rotationKey: pulumi.Output<string>;
  declare readonly revocationBehavior: pulumi.Output<string>;
  /** The new signing secret. Secret. */
  declare readonly secret: pulumi.Output<string>;
  declare readonly rotatedAt: pulumi.Output<string>;
  /** When the secrets this rotation replaced stop working; null with immediate revocation. */
  declare readonly previousSecretsExpireAt: pulumi.Output<string | null>;
  /** True once a later rotation made this secret no longer the newest (seen on refresh). */
  declare readonly superseded: pulumi.Output<boolean>;

  constructor(resourceName: string, args: SecretRotationArgs, opts?: pulumi.CustomResourceOptions) {
    assertApiKeyIsSecret();
    super(
      rotationShim,
      resourceName,
      { ...args, secret: undefined, rotatedAt: undefined, previousSecretsExpireAt: undefined, superseded: undefined },
      withSecretOutputs(opts, ["secret"]),
      "gemini",
      "SecretRotation",
    );
  }
}
