/** The WebhookService client and its wire schema. */
export { WebhooksClient, closeAllPools } from "./client";
export type { WebhooksClientOptions } from "./client";
export { GeminiApiError, GeminiConfigError } from "./errors";
export type { GeminiApiErrorCode } from "./errors";
export * as wire from "./schema";
