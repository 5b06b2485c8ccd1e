/** The verifying receiver as a library: verifiers, the Fastify app, dedup stores. */
export { verifyStaticDelivery, decodeSecrets } from "./verify-static";
export type { StaticVerifyOptions, VerifiedDelivery } from "./verify-static";
export { verifyDynamicDelivery } from "./verify-dynamic";
export type { DynamicVerifyOptions, VerifiedDynamicDelivery } from "./verify-dynamic";
export { WebhookVerificationError } from "./errors";
export type { VerificationReason } from "./errors";
export { buildReceiver } from "./server";
export type { Receiver, ReceiverOptions } from "./server";
export type { EventHandler, HandlerMeta, ReceivedEvent } from "./event";
export { StreamQueue } from "./stream-queue";
export type { AcceptResult, ProcessOutcome, StreamQueueOptions } from "./stream-queue";
export type { Handoff } from "./handoff";
export { loadHandlerModule } from "./handler-module";
export { loadConfig, ConfigError } from "./config";
export type { ReceiverConfig } from "./config";
export { MemoryDedup, RedisDedup } from "./dedup";
export type { DedupStore } from "./dedup";
