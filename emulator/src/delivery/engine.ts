/**
 * The delivery side of the emulator: turns events into durable deliveries (static webhooks by
 * subscription, or a job's dynamic `webhook_config.uris`) and runs the dispatcher.
 */
import { randomBytes } from "node:crypto";
import type { Clock } from "../clock";
import type { EmulatorStore, WebhookRow } from "../store";
import { Dispatcher, DispatcherOptions } from "./dispatcher";
import { CatalogEventType, envelope, eventData, PING_TYPE, WebhookConfig } from "./events";
import { JwtKeys } from "./jwt-keys";
import { DeliveryQueue, NewDelivery } from "./queue";

export interface EmitResult {
  event_id: string;
  deliveries: number;
}

function newId(prefix: string): string {
  return prefix + randomBytes(12).toString("base64url");
}

export class DeliveryEngine {
  readonly queue: DeliveryQueue;
  readonly keys: JwtKeys;
  readonly dispatcher: Dispatcher;

  constructor(
    private readonly store: EmulatorStore,
    private readonly clock: Clock,
    options: DispatcherOptions & { jwksGraceMs?: number },
  ) {
    this.queue = new DeliveryQueue(store.db);
    this.keys = new JwtKeys(store.db, clock, options.jwksGraceMs);
    this.dispatcher = new Dispatcher(this.queue, store, clock, this.keys, options);
  }

  /** `issuer` gives the emulator's origin (known only once it listens). */
  start(issuer: () => string): void {
    this.dispatcher.issuer = issuer;
    this.dispatcher.start();
  }

  stop(): Promise<void> {
    return this.dispatcher.stop();
  }

  /**
   * Emits one event: to the job's dynamic URIs when it carries a webhook_config ("instead of" the
   * project's webhooks, as the SDK docs say), otherwise to every enabled webhook subscribed to it.
   */
  emit(type: CatalogEventType, data?: Record<string, unknown>, webhookConfig?: WebhookConfig): EmitResult {
    const eventId = newId("evt_");
    const now = this.clock.now();
    const body = envelope(type, eventData(type, data), new Date(), webhookConfig ? webhookConfig.user_metadata ?? {} : undefined);
    const deliveries: NewDelivery[] = webhookConfig
      ? webhookConfig.uris.map((uri) => ({ msgId: newId("msg_"), webhookId: null, target: uri, kind: "dynamic" as const }))
      : this.store.subscribers(type).map((w) => ({ msgId: newId("msg_"), webhookId: w.id, target: w.uri, kind: "static" as const }));
    this.queue.enqueue({ id: eventId, type, body: Buffer.from(JSON.stringify(body)) }, deliveries, now);
    this.dispatcher.wake();
    return { event_id: eventId, deliveries: deliveries.length };
  }

  ping(webhook: WebhookRow): void {
    const eventId = newId("evt_");
    const body = envelope(PING_TYPE, { webhook_id: webhook.id }, new Date());
    this.queue.enqueue(
      { id: eventId, type: PING_TYPE, body: Buffer.from(JSON.stringify(body)) },
      [{ msgId: newId("msg_"), webhookId: webhook.id, target: webhook.uri, kind: "static" }],
      this.clock.now(),
    );
    this.dispatcher.wake();
  }

  onWebhookDeleted(id: string): void {
    this.queue.abandonForWebhook(id);
  }

  /**
   * What Google does when a webhook's deliveries keep failing past the retry window: the webhook
   * becomes `disabled_due_to_failed_deliveries` and its pending deliveries wait. The dispatcher
   * does this on its own after 24 h of failures; the admin API forces it for tests.
   */
  disableForFailedDeliveries(id: string): WebhookRow | undefined {
    const webhook = this.store.getWebhook(id);
    if (!webhook) return undefined;
    if (webhook.state === "enabled") {
      this.store.updateWebhook(id, { state: "disabled_due_to_failed_deliveries" }, this.clock.now());
      this.queue.holdForWebhook(id);
    }
    return this.store.getWebhook(id);
  }

  onWebhookReenabled(id: string): void {
    this.queue.resumeHeld(id, this.clock.now());
    this.dispatcher.wake();
  }
}
