/** `gemini:Webhook`: a Gemini API webhook, its signing secret an encrypted output. */
import * as pulumi from "@pulumi/pulumi";
import { assertApiKeyIsSecret } from "./api-key-guard";
import webhookShim = require("./webhook-shim");

export interface WebhookArgs {
  /** Where deliveries are POSTed: an absolute http(s) URL. Updates in place. */
  uri: pulumi.Input<string>;
  /** Events to deliver (any order; duplicates ignored). Updates in place. */
  subscribedEvents: pulumi.Input<pulumi.Input<string>[]>;
  /** The webhook's display name in the API. Updates in place. */
  name?: pulumi.Input<string>;
  /** `enabled` or `disabled`; omit to leave the state alone. Updates in place. */
  state?: pulumi.Input<"enabled" | "disabled">;
  /**
   * On create, adopt a webhook with the same name and uri instead of creating a duplicate
   * (dynamic providers cannot `pulumi import`). Adoption rotates the secret once, 24 h grace.
   */
  adoptExisting?: pulumi.Input<boolean>;
}

export interface SigningSecretInfo {
  truncatedSecret: string;
  expireTime: string | null;
}

export class Webhook extends pulumi.dynamic.Resource {
  declare readonly uri: pulumi.Output<string>;
  declare readonly subscribedEvents: pulumi.Output<string[]>;
  declare readonly name: pulumi.Output<string>;
  /** `enabled`, `disabled` or `disabled_due_to_failed_deliveries`. */
  declare readonly state: pulumi.Output<string>;
  /** The secret returned when the webhook was created (or adopted). Secret. */
  declare readonly signingSecret: pulumi.Output<string>;
  /** The currently valid secrets as the API lists them (truncated), newest first. */
  declare readonly signingSecrets: pulumi.Output<SigningSecretInfo[]>;
  declare readonly createTime: pulumi.Output<string | null>;
  declare readonly updateTime: pulumi.Output<string | null>;

  constructor(resourceName: string, args: WebhookArgs, opts?: pulumi.CustomResourceOptions) {
    assertApiKeyIsSecret();
    super(
      webhookShim,
      resourceName,
      {
        ...args,
        signingSecret: undefined,
        signingSecrets: undefined,
        createTime: undefined,
        updateTime: undefined,
        // Present even when omitted, so `name` and `state` exist as outputs (pulumi#6587).
        name: args.name,
        state: args.state,
      },
      withSecretOutputs(opts, ["signingSecret"]),
      "gemini",
      "Webhook",
    );
  }
}

/** Merges the outputs that must always be encrypted into the caller's options. */
export function withSecretOutputs(opts: pulumi.CustomResourceOptions | undefined, names: string[]): pulumi.CustomResourceOptions {
  return { ...opts, additionalSecretOutputs: [...new Set([...(opts?.additionalSecretOutputs ?? []), ...names])] };
}
