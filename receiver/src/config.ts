/**
 * The receiver's configuration from the environment. Invalid values stop start-up with a message
 * naming the variable; secrets are never echoed.
 */
import { existsSync, readFileSync } from "node:fs";
import { parseSecrets } from "./signing-keys";
import { decodeSecrets } from "./verify-static";

export interface ReceiverConfig {
  port: number;
  host: string;
  /** Every secret to accept (several during a rotation's grace window). */
  signingSecrets: string[];
  /** Where the secrets were read from, when from a file that can change (re-read on change and SIGHUP). */
  signingSecretsFile?: string;
  /** A module exporting `handle(event, meta)`: the server's handler (default: log each event). */
  handlerModule?: string;
  handlerConcurrency: number;
  /** Backlog beyond which deliveries get 503 (the durable stream's length, or the in-memory queue's). */
  queueMaxLength: number;
  /** Durable mode: ms an event may stay unacknowledged before another replica takes it over. */
  visibilityTimeoutMs: number;
  /** Durable mode: runs of one event before it moves to the dead-letter stream. */
  maxAttempts: number;
  toleranceSeconds: number;
  jwt?: {
    jwksUri: string;
    issuer: string;
    audience: string[];
    requireBodyHash: boolean;
    maxTokenAgeSeconds: number;
    maxLifetimeSeconds: number;
  };
  redisUrl?: string;
  maxBodyBytes: number;
  logLevel: string;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code = "ERR_RECEIVER_CONFIG";
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}`);
  const value = Number(raw.trim());
  if (value < min || value > max) throw new ConfigError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function url(env: NodeJS.ProcessEnv, name: string, protocols: string[]): string | undefined {
  const raw = env[name]?.trim();
  if (!raw) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name} must be a URL (${protocols.join(" or ")}), got an unparsable value`);
  }
  if (!protocols.includes(parsed.protocol)) throw new ConfigError(`${name} must use ${protocols.join(" or ")}, got ${parsed.protocol}`);
  return raw;
}

function boolean(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if (raw === "true" || raw === "1") return true;
  if (raw === "false" || raw === "0") return false;
  throw new ConfigError(`${name} must be true or false, got ${JSON.stringify(env[name])}`);
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function secretsFrom(env: NodeJS.ProcessEnv): { signingSecrets: string[]; signingSecretsFile?: string } {
  const file = env.WEBHOOK_SIGNING_SECRETS_FILE?.trim();
  if (file && env.WEBHOOK_SIGNING_SECRETS?.trim()) {
    throw new ConfigError("WEBHOOK_SIGNING_SECRETS and WEBHOOK_SIGNING_SECRETS_FILE exclude each other: set one");
  }
  const name = file ? "WEBHOOK_SIGNING_SECRETS_FILE" : "WEBHOOK_SIGNING_SECRETS";
  let text = env.WEBHOOK_SIGNING_SECRETS ?? "";
  if (file) {
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      throw new ConfigError(`WEBHOOK_SIGNING_SECRETS_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    }
  }
  const signingSecrets = parseSecrets(text);
  if (signingSecrets.length > 0 || file) {
    try {
      decodeSecrets(signingSecrets);
    } catch (err) {
      throw new ConfigError(`${name}: ${(err as Error).message}`);
    }
  }
  return { signingSecrets, ...(file ? { signingSecretsFile: file } : {}) };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ReceiverConfig {
  const { signingSecrets, signingSecretsFile } = secretsFrom(env);
  const handlerModule = env.HANDLER_MODULE?.trim() || undefined;
  if (handlerModule && !existsSync(handlerModule)) throw new ConfigError(`HANDLER_MODULE: no file at ${handlerModule}`);
  const jwksUri = url(env, "JWKS_URI", ["http:", "https:"]);
  // Keys fetched in clear text can be swapped on the way: only loopback, or an explicit opt-in.
  const allowHttp = boolean(env, "JWKS_ALLOW_HTTP", false);
  if (jwksUri && new URL(jwksUri).protocol === "http:" && !isLoopback(new URL(jwksUri).hostname) && !allowHttp) {
    throw new ConfigError("JWKS_URI uses http: on a host other than loopback; use https:, or set JWKS_ALLOW_HTTP=true for a trusted network (e.g. a local emulator reached through the Docker gateway)");
  }
  const issuer = env.JWT_ISSUER?.trim();
  const audience = (env.JWT_AUDIENCE ?? "").split(/[\s,]+/).filter(Boolean);
  const jwtParts = [jwksUri, issuer, audience.length ? "x" : undefined].filter(Boolean).length;
  if (jwtParts !== 0 && jwtParts !== 3) {
    throw new ConfigError("JWKS_URI, JWT_ISSUER and JWT_AUDIENCE go together: set all three for dynamic webhooks, or none");
  }
  if (signingSecrets.length === 0 && jwtParts === 0) {
    throw new ConfigError("nothing to verify with: set WEBHOOK_SIGNING_SECRETS (static webhooks) and/or JWKS_URI, JWT_ISSUER, JWT_AUDIENCE (dynamic webhooks)");
  }
  const logLevel = env.LOG_LEVEL?.trim() || "info";
  if (!["fatal", "error", "warn", "info", "debug", "trace", "silent"].includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; got ${JSON.stringify(logLevel)}`);
  }
  return {
    port: integer(env, "PORT", 8080, 0, 65535),
    host: env.HOST?.trim() || "0.0.0.0",
    signingSecrets,
    ...(signingSecretsFile ? { signingSecretsFile } : {}),
    ...(handlerModule ? { handlerModule } : {}),
    handlerConcurrency: integer(env, "HANDLER_CONCURRENCY", 8, 1, 1024),
    queueMaxLength: integer(env, "QUEUE_MAX_LENGTH", 100_000, 1, 100_000_000),
    visibilityTimeoutMs: integer(env, "HANDLER_VISIBILITY_TIMEOUT_MS", 30_000, 100, 86_400_000),
    maxAttempts: integer(env, "HANDLER_MAX_ATTEMPTS", 5, 1, 1000),
    toleranceSeconds: integer(env, "WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS", 300, 1, 3600),
    jwt:
      jwtParts === 3
        ? {
            jwksUri: jwksUri!,
            issuer: issuer!,
            audience,
            requireBodyHash: boolean(env, "JWT_REQUIRE_BODY_HASH", true),
            maxTokenAgeSeconds: integer(env, "JWT_MAX_TOKEN_AGE_SECONDS", 600, 1, 86_400),
            maxLifetimeSeconds: integer(env, "JWT_MAX_LIFETIME_SECONDS", 3600, 1, 86_400),
          }
        : undefined,
    redisUrl: url(env, "REDIS_URL", ["redis:", "rediss:"]),
    maxBodyBytes: integer(env, "MAX_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
    logLevel,
  };
}
