/** What every emulator route shares. */
import type { Clock } from "./clock";
import type { FaultInjector, RouteName } from "./faults";
import type { EmulatorStore, WebhookRow } from "./store";

/** The delivery engine as the WebhookService routes see it. */
export interface DeliveryHooks {
  ping(webhook: WebhookRow): void;
  onWebhookDeleted(id: string): void;
  onWebhookReenabled(id: string): void;
}

export interface EmulatorContext {
  store: EmulatorStore;
  clock: Clock;
  faults: FaultInjector;
  /** When undefined, any non-empty key is accepted. */
  apiKey?: string;
  deliveries?: DeliveryHooks;
  /** API calls that reached a handler, failed ones included (injected 429/503 excluded), per route. */
  metrics: { calls: Record<RouteName, number> };
}
