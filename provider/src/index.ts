/**
 * pulumi-gemini-webhooks: manage Gemini API webhooks and their signing secrets with Pulumi.
 *
 * @example
 *   const hook = new Webhook("orders", { uri: "https://example.com/hooks/gemini", subscribedEvents: ["batch.succeeded"] });
 *   const rotation = new SecretRotation("orders-rotation", { webhookId: hook.id, rotationKey: config.require("rotationKey") });
 */
// The classes are generated from their declarations (./declarations.ts) by `npm run generate`.
export { Webhook, SecretRotation } from "./generated/resources";
export type { WebhookArgs, SecretRotationArgs, SigningSecretInfo, WebhookInfo } from "./generated/resources";
export { getWebhook, getWebhookOutput, getWebhooks, getWebhooksOutput } from "./lookups";
export { currentSigningSecrets, signingSecretsEnv } from "./current-secrets";
export type { CurrentSecretsSource } from "./current-secrets";
export { WebhooksClient, GeminiApiError, GeminiConfigError } from "gemini-webhooks-client";
export { EVENT_TYPES, REVOCATION_BEHAVIORS } from "gemini-webhooks-client";
export type { EventType, RevocationBehavior } from "gemini-webhooks-client";
