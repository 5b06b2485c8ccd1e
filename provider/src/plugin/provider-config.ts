/**
 * The plugin's configuration: `gemini:apiKey`, `gemini:baseUrl`, `gemini:apiVersion` from stack
 * config (the default provider) or an explicit `pulumi:providers:gemini` resource, with the same
 * environment fallbacks as the dynamic provider. CheckConfig validates and names the key; Configure
 * reads the engine's `args` (secrets still wrapped), not the deprecated `variables` map.
 */
import { GeminiConfigError } from "gemini-webhooks-client";
import { ConfigSource, PLAINTEXT_KEY_MESSAGE, resolveSettings } from "../settings";
import { UNKNOWN } from "../impl/unknown";
import { Props, unwrapProps } from "./secret-values";

export const CONFIG_KEYS = ["apiKey", "baseUrl", "apiVersion"] as const;
/** Keys the engine itself adds to a provider's inputs. */
const ENGINE_KEYS = new Set(["version", "pluginDownloadURL"]);

export interface Failure {
  property: string;
  reason: string;
}

/** A ConfigSource over plain provider inputs, keyed as the settings expect (`gemini:<key>`). */
export function configSource(plain: Props): ConfigSource {
  return {
    get(key) {
      const value = plain[key.replace(/^gemini:/, "")];
      return typeof value === "string" ? value : undefined;
    },
  };
}

export function checkConfig(news: Props): { inputs: Props; failures: Failure[] } {
  const { plain } = unwrapProps(news);
  const failures: Failure[] = [];
  for (const key of Object.keys(plain)) {
    if (ENGINE_KEYS.has(key) || (CONFIG_KEYS as readonly string[]).includes(key)) continue;
    failures.push({ property: key, reason: `gemini:${key} is not a setting of the gemini provider; known settings: ${CONFIG_KEYS.map((k) => `gemini:${k}`).join(", ")}` });
  }
  for (const key of CONFIG_KEYS) {
    const value = plain[key];
    if (value === undefined || value === null || value === UNKNOWN) continue;
    if (typeof value !== "string") {
      failures.push({ property: key, reason: `gemini:${key} must be a string, got ${typeof value}` });
      continue;
    }
    if (key === "apiKey") continue; // any non-empty string; the API judges it
    try {
      // Validated alone, so the error names this key and not a fallback's.
      resolveSettings(configSource({ [key]: value }), {});
    } catch (err) {
      if (!(err instanceof GeminiConfigError)) throw err;
      failures.push({ property: key, reason: err.message });
    }
  }
  // Returned as sent: the engine re-marks what was secret, so Configure can tell a key typed
  // without --secret (CheckConfig itself receives secrets unwrapped).
  const inputs: Props = { ...news };
  return { inputs, failures };
}

/**
 * The settings from Configure's `args` (secrets still wrapped). A key that arrives plain was typed
 * without --secret: refused like the dynamic provider refuses it, before any resource is registered.
 */
export function configureArgs(args: Props): ConfigSource {
  if (typeof args.apiKey === "string" && args.apiKey !== UNKNOWN) throw new GeminiConfigError(PLAINTEXT_KEY_MESSAGE);
  return configSource(unwrapProps(args).plain);
}

