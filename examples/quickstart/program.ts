/**
 * The quickstart stack (run by the repository's root Pulumi.yaml and by `npm run demo`): one
 * webhook for batch events, rotated whenever the config value `rotationKey` changes.
 */
import * as pulumi from "@pulumi/pulumi";
import { currentSigningSecrets, SecretRotation, Webhook } from "pulumi-gemini-webhooks";

export const QUICKSTART_EVENTS = ["batch.succeeded", "batch.failed", "batch.expired"];

export interface QuickstartOutputs {
  webhookId: pulumi.Output<string>;
  /** The newest signing secret. Secret. */
  currentSecret: pulumi.Output<string>;
  /** Every secret a receiver must accept right now (both during a rotation's grace). Secret. */
  receiverSecrets: pulumi.Output<string[]>;
  rotatedAt: pulumi.Output<string | null>;
}

export function quickstart(): QuickstartOutputs {
  const config = new pulumi.Config();
  const webhook = new Webhook("batch-events", {
    name: config.get("webhookName") ?? "quickstart-batch-events",
    uri: config.get("receiverUrl") ?? "http://127.0.0.1:8080/webhooks/gemini",
    subscribedEvents: QUICKSTART_EVENTS,
  });
  // `pulumi config set rotationKey 2026-12 && pulumi up` rotates; a new value rotates again.
  const rotationKey = config.get("rotationKey");
  const rotation = rotationKey ? new SecretRotation("batch-events-rotation", { webhookId: webhook.id, rotationKey }) : undefined;
  return {
    webhookId: webhook.id,
    currentSecret: rotation ? rotation.secret : webhook.signingSecret,
    receiverSecrets: currentSigningSecrets({ webhook, rotation }),
    rotatedAt: rotation ? rotation.rotatedAt : pulumi.output(null),
  };
}
