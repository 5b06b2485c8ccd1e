/**
 * `getWebhook({ id })` and `getWebhooks({ name?, uri? })`: webhooks this program does not manage,
 * looked up from the program with the stack's `gemini:` configuration (the same the resources use).
 * The plugin serves the same lookups as `gemini:index:getWebhook` and `gemini:index:getWebhooks`.
 */
import * as pulumi from "@pulumi/pulumi";
import { WebhooksClient } from "gemini-webhooks-client";
import { assertApiKeyIsSecret } from "./api-key-guard";
import type { WebhookInfo } from "./generated/resources";
import { findWebhooks, lookupWebhook } from "./impl/lookups";
import { missingApiKeyError, resolveSettings } from "./settings";

function programClient(): WebhooksClient {
  assertApiKeyIsSecret();
  const settings = resolveSettings({ get: (key) => pulumi.runtime.getConfig(key) });
  if (!settings.apiKey) throw missingApiKeyError();
  return new WebhooksClient({ baseUrl: settings.baseUrl, apiKey: settings.apiKey });
}

/** A webhook by id: every field but a secret. */
export function getWebhook(args: { id: string }): Promise<WebhookInfo> {
  return lookupWebhook(programClient(), args.id);
}

/**
 * The lookup as an Output, secret as a whole: its uri is a secret value (a lookup cannot know whether
 * the webhook's owner marked it secret, and a uri can carry a token), and an Output is secret or not
 * as one. `getWebhook` (a promise) hands the program plain values.
 */
export function getWebhookOutput(args: { id: pulumi.Input<string> }): pulumi.Output<WebhookInfo> {
  return pulumi.secret(pulumi.output(args.id).apply((id) => getWebhook({ id })));
}

/** Webhooks by exact name and/or uri (all when neither is given); the Output form is secret as a whole, as getWebhookOutput's. */
export async function getWebhooks(args: { name?: string; uri?: string } = {}): Promise<{ webhooks: WebhookInfo[] }> {
  return { webhooks: await findWebhooks(programClient(), args) };
}

export function getWebhooksOutput(args: { name?: pulumi.Input<string>; uri?: pulumi.Input<string> } = {}): pulumi.Output<{ webhooks: WebhookInfo[] }> {
  return pulumi.secret(pulumi.all([args.name, args.uri]).apply(([name, uri]) => getWebhooks({ ...(name !== undefined ? { name } : {}), ...(uri !== undefined ? { uri } : {}) })));
}
