/**
 * Where the provider finds its API key and base URL: stack config `gemini:apiKey` / `gemini:baseUrl`
 * (read in `configure`, never captured into state), then the environment.
 */
import { API_KEY_HELP, GeminiConfigError } from "gemini-webhooks-client";
import { DEFAULT_BASE_URL, isHttpUrl } from "gemini-webhooks-client";

export interface ProviderSettings {
  apiKey?: string;
  baseUrl: string;
}

export interface ConfigSource {
  get(key: string): string | undefined;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

export function resolveSettings(config: ConfigSource | undefined, env: NodeJS.ProcessEnv = process.env): ProviderSettings {
  const apiKey =
    nonEmpty(config?.get("gemini:apiKey")) ?? nonEmpty(env.GEMINI_API_KEY) ?? nonEmpty(env.GOOGLE_API_KEY);
  const fromConfig = nonEmpty(config?.get("gemini:baseUrl"));
  const baseUrl = fromConfig ?? nonEmpty(env.GEMINI_BASE_URL) ?? DEFAULT_BASE_URL;
  if (!isHttpUrl(baseUrl)) {
    const where = fromConfig ? "gemini:baseUrl" : "GEMINI_BASE_URL";
    throw new GeminiConfigError(`${where} must be an absolute http(s) URL such as ${DEFAULT_BASE_URL}, got ${JSON.stringify(baseUrl)}`);
  }
  return { apiKey, baseUrl: baseUrl.replace(/\/+$/, "") };
}

/** The error for a call that needs a key when none is configured. */
export function missingApiKeyError(): GeminiConfigError {
  return new GeminiConfigError(`No Gemini API key is configured. ${API_KEY_HELP}`);
}
