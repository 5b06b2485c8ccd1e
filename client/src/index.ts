/**
 * gemini-webhooks-client: the Gemini API WebhookService over undici, and its one zod wire schema.
 *
 * @example
 *   const client = new WebhooksClient({ apiKey: process.env.GEMINI_API_KEY! });
 *   const webhook = await client.create({ uri: "https://example.com/hooks", subscribed_events: ["batch.succeeded"] }); // webhook.new_signing_secret: returned once
 *
 * The wire schema alone (no HTTP client loaded) is `gemini-webhooks-client/schema`.
 */
export { WebhooksClient, closeAllPools } from "./client";
export type { WebhooksClientOptions } from "./client";
export { API_KEY_HELP, GeminiApiError, GeminiConfigError } from "./errors";
export type { GeminiApiErrorCode, GeminiApiErrorInit } from "./errors";
export { DEFAULT_RETRY_POLICY, backoffDelayMs, parseRetryAfterMs } from "./retry";
export type { RetryPolicy } from "./retry";
export { truncateSecret, truncatedMatches } from "./truncated-secret";
export {
  API_REVISION,
  API_VERSIONS,
  DEFAULT_API_VERSION,
  DEFAULT_BASE_URL,
  apiRoot,
  EVENT_TYPES,
  LIST_PAGE_SIZE_DEFAULT,
  LIST_PAGE_SIZE_MAX,
  MAX_NAME_LENGTH,
  MAX_SUBSCRIBED_EVENTS,
  MAX_URI_LENGTH,
  REVOCATION_BEHAVIORS,
  ROTATION_GRACE_MS,
  UPDATABLE_FIELDS,
  WEBHOOK_STATES,
  isHttpUrl,
} from "./schema";
export type {
  ApiVersion,
  CreateWebhookRequest,
  EventType,
  GoogleErrorBody,
  ListWebhooksResponse,
  RevocationBehavior,
  RotateSigningSecretRequest,
  RotateSigningSecretResponse,
  SigningSecret,
  UpdateWebhookRequest,
  Webhook,
  WebhookState,
} from "./schema";
export * as wire from "./schema";
