/**
 * Where the provider finds its API key, base URL and API version — in the SDKs' terms: stack config
 * `gemini:apiKey`, `gemini:baseUrl` (an origin), `gemini:apiVersion`, read in `configure` and never
 * captured into state; then the environment variables the SDKs read.
 */
import { API_KEY_HELP, API_VERSIONS, apiRoot, DEFAULT_API_VERSION, DEFAULT_BASE_URL, GeminiConfigError, isHttpUrl } from "gemini-webhooks-client";

export interface ProviderSettings {
  apiKey?: string;
  /** Where the key came from, for error messages that name the fix. */
  apiKeySource?: "gemini:apiKey" | "GEMINI_API_KEY" | "GOOGLE_API_KEY";
  /** The API root: origin + version. */
  baseUrl: string;
}

export interface ConfigSource {
  get(key: string): string | undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

export function resolveSettings(config: ConfigSource | undefined, env: NodeJS.ProcessEnv = process.env): ProviderSettings {
  const keys: [ProviderSettings["apiKeySource"], string | undefined][] = [
    ["gemini:apiKey", nonEmpty(config?.get("gemini:apiKey"))],
    ["GEMINI_API_KEY", nonEmpty(env.GEMINI_API_KEY)],
    ["GOOGLE_API_KEY", nonEmpty(env.GOOGLE_API_KEY)],
  ];
  const [apiKeySource, apiKey] = keys.find(([, v]) => v !== undefined) ?? [undefined, undefined];

  // GOOGLE_GEMINI_BASE_URL is the SDKs' variable; GEMINI_BASE_URL is this provider's older name.
  const urls: [string, string | undefined][] = [
    ["gemini:baseUrl", nonEmpty(config?.get("gemini:baseUrl"))],
    ["GOOGLE_GEMINI_BASE_URL", nonEmpty(env.GOOGLE_GEMINI_BASE_URL)],
    ["GEMINI_BASE_URL", nonEmpty(env.GEMINI_BASE_URL)],
  ];
  const [urlSource, baseUrl] = urls.find(([, v]) => v !== undefined) ?? ["default", DEFAULT_BASE_URL];
  if (!isHttpUrl(baseUrl!)) {
    throw new GeminiConfigError(`${urlSource} must be an absolute http(s) URL such as ${DEFAULT_BASE_URL} (an origin; a URL ending in /v1beta or /v1 also works), got ${JSON.stringify(baseUrl)}`);
  }
  const apiVersion = nonEmpty(config?.get("gemini:apiVersion")) ?? DEFAULT_API_VERSION;
  if (!(API_VERSIONS as readonly string[]).includes(apiVersion)) {
    throw new GeminiConfigError(`gemini:apiVersion must be one of ${API_VERSIONS.join(", ")}, got ${JSON.stringify(apiVersion)}`);
  }
  return { apiKey, apiKeySource, baseUrl: apiRoot(baseUrl!, apiVersion) };
}

/** Why a key typed without `--secret` is refused (it would sit in state and in Pulumi.<stack>.yaml in plaintext). */
export const PLAINTEXT_KEY_MESSAGE =
  "gemini:apiKey is set in plaintext, so Pulumi would store it unencrypted in state (with the provider's configuration). " +
  "Set it as a secret: `pulumi config set --secret gemini:apiKey <key>` — or leave it unset and export GEMINI_API_KEY instead.";

/** The error for a call that needs a key when none is configured. */
export function missingApiKeyError(): GeminiConfigError {
  return new GeminiConfigError(`No Gemini API key is configured. ${API_KEY_HELP}`);
}
