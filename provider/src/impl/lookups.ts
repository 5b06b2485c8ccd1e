/**
 * Lookups of webhooks a program does not manage (getWebhook, getWebhooks), shared by the TypeScript
 * functions and the plugin's invokes: every field the API reports, never a secret (it returns none).
 */
import { GeminiApiError, Webhook, WebhooksClient } from "gemini-webhooks-client";
import type { WebhookInfo } from "../generated/resources";

export function webhookInfo(webhook: Webhook): WebhookInfo {
  return {
    id: webhook.id,
    uri: webhook.uri,
    subscribedEvents: [...webhook.subscribed_events].sort(),
    name: webhook.name ?? "",
    state: webhook.state ?? "enabled",
    signingSecrets: (webhook.signing_secrets ?? []).map((s) => ({ truncatedSecret: s.truncated_secret, expireTime: s.expire_time ?? null })),
    createTime: webhook.create_time ?? null,
    updateTime: webhook.update_time ?? null,
  };
}

export async function lookupWebhook(client: WebhooksClient, id: string): Promise<WebhookInfo> {
  try {
    return webhookInfo(await client.get(id));
  } catch (err) {
    if (err instanceof GeminiApiError && err.isNotFound) throw new Error(`getWebhook: no webhook with id ${JSON.stringify(id)}`);
    throw err;
  }
}

export async function findWebhooks(client: WebhooksClient, filter: { name?: string; uri?: string }): Promise<WebhookInfo[]> {
  const found: WebhookInfo[] = [];
  for await (const webhook of client.listAll()) {
    if (filter.name !== undefined && (webhook.name ?? "") !== filter.name) continue;
    if (filter.uri !== undefined && webhook.uri !== filter.uri) continue;
    found.push(webhookInfo(webhook));
  }
  return found;
}
