/**
 * Per-process state of the provider implementation: the settings `configure` resolved, and the
 * client built from them. Lives here, in the provider process, never in the serialized provider.
 */
import { WebhooksClient } from "gemini-webhooks-client";
import { ConfigSource, missingApiKeyError, ProviderSettings, resolveSettings } from "../settings";

let settings: ProviderSettings | undefined;
let client: WebhooksClient | undefined;

/** Where warnings go: stderr under the dynamic provider; the engine's log under the plugin. */
let warnSink: (message: string) => void = (message) => console.error(`warning: ${message}`);

/** Where notes go (e.g. when the next scheduled rotation is due): stderr, or the engine's log at info. */
let infoSink: (message: string) => void = (message) => console.error(message);

export function setWarningSink(sink: (message: string) => void, info?: (message: string) => void): void {
  warnSink = sink;
  if (info) infoSink = info;
}

export function warn(message: string): void {
  warnSink(message);
}

export function info(message: string): void {
  infoSink(message);
}

export function configure(config: ConfigSource | undefined): void {
  settings = resolveSettings(config);
  client = undefined;
}

/** The client for this process; env-only settings when `configure` never ran (older engines). */
export function apiClient(): WebhooksClient {
  if (!client) {
    const current = settings ?? resolveSettings(undefined);
    if (!current.apiKey) throw missingApiKeyError();
    client = new WebhooksClient({
      baseUrl: current.baseUrl,
      apiKey: current.apiKey,
      // refresh and destroy run with the config stored at the last `up`: after a key rotation the
      // stored key is rejected, and the key in the environment (the one the user has now) is used.
      replacementApiKey: () => resolveSettings(undefined).apiKey,
    });
  }
  return client;
}
