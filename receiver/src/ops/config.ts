/**
 * The receiver's configuration from the environment. Every variable is declared once in
 * `VARIABLES` (name, default, meaning): `--help` and the unknown-variable check are derived from it.
 * Invalid values stop start-up with a message naming the variable; secrets are never echoed.
 */
import { closeSync, constants, existsSync, fstatSync, openSync, readFileSync } from "node:fs";
import type { HostPort, RedisConfig, RedisTopology } from "../queue/redis";
import { decodeSecrets, parseSecrets } from "../verify/static-node";

/** A configuration mistake: stops start-up with a message naming the variable (never a secret's value). */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code = "ERR_RECEIVER_CONFIG";
}

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
  /** A handler run longer than this is a failed attempt (reason `timeout`); its signal is aborted. */
  handlerTimeoutMs: number;
  /** Backlog beyond which deliveries get 503 (the durable stream's length, or the in-memory queue's). */
  queueMaxLength: number;
  /** Durable mode: ms an event may stay unacknowledged before another replica takes it over. */
  visibilityTimeoutMs: number;
  /** Durable mode: runs of one event before it moves to the dead-letter stream. */
  maxAttempts: number;
  /** Durable mode: the first retry's backoff, doubling at each attempt (with jitter). */
  retryBaseMs: number;
  /** Durable mode: runs failing in a row that open the circuit (0: never). */
  circuitFailures: number;
  /** Durable mode: entries the dead-letter stream keeps; the oldest beyond are trimmed (and counted). */
  deadLetterMax: number;
  /** On SIGTERM/SIGINT: how long in-flight handlers may finish before the process exits anyway. */
  shutdownTimeoutMs: number;
  toleranceSeconds: number;
  jwt?: {
    jwksUri: string;
    issuer: string;
    audience: string[];
    requireBodyHash: boolean;
    maxTokenAgeSeconds: number;
    maxLifetimeSeconds: number;
    /** A cached key set older than this is refetched before it is used again. */
    jwksMaxAgeMs: number;
  };
  /** Durable mode's Redis (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES); absent: in memory. */
  redis?: RedisConfig;
  /** HANDLER_URL: each verified event POSTed there, signed with the forwarding secrets (forward.ts). */
  forward?: { url: string; signingSecrets: string[]; signingSecretsFile?: string };
  /** When set, `/metrics` is served on its own listener (and the webhook port answers 404 for it). */
  metrics?: { port: number; host: string };
  maxBodyBytes: number;
  logLevel: string;
}

/** Every variable the receiver reads: the one source for `--help` and for the unknown-name check. */
export const VARIABLES: readonly { name: string; fallback: string; doc: string }[] = [
  { name: "PORT", fallback: "8080", doc: "webhook listener port" },
  { name: "HOST", fallback: "0.0.0.0", doc: "webhook listener address" },
  { name: "WEBHOOK_SIGNING_SECRETS", fallback: "", doc: "whsec_ secrets, whitespace- or comma-separated (both during a rotation)" },
  { name: "WEBHOOK_SIGNING_SECRETS_FILE", fallback: "", doc: "or a file holding them, re-read when it changes and on SIGHUP" },
  { name: "WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS", fallback: "300", doc: "accepted clock difference, both ways" },
  { name: "JWKS_URI", fallback: "", doc: "dynamic webhooks: the sender's JWK set (with JWT_ISSUER and JWT_AUDIENCE)" },
  { name: "JWT_ISSUER", fallback: "", doc: "dynamic webhooks: expected iss" },
  { name: "JWT_AUDIENCE", fallback: "", doc: "dynamic webhooks: expected aud (this endpoint's public URL), comma-separated" },
  { name: "JWKS_ALLOW_HTTP", fallback: "false", doc: "allow an http: JWKS_URI off loopback (trusted networks only)" },
  { name: "JWKS_MAX_AGE_MS", fallback: "300000", doc: "a cached key set older than this is refetched: how long a removed key can stay trusted" },
  { name: "JWT_REQUIRE_BODY_HASH", fallback: "true", doc: "require the body_sha256 claim" },
  { name: "JWT_MAX_TOKEN_AGE_SECONDS", fallback: "600", doc: "refuse tokens issued longer ago" },
  { name: "JWT_MAX_LIFETIME_SECONDS", fallback: "3600", doc: "refuse tokens living longer (exp - iat)" },
  { name: "REDIS_URL", fallback: "", doc: "durable mode: dedup and a Redis stream shared by every replica (without it: in memory, development only)" },
  { name: "REDIS_SENTINELS", fallback: "", doc: "or Sentinel: host:port,… of the sentinels (with REDIS_SENTINEL_NAME); failovers are followed" },
  { name: "REDIS_SENTINEL_NAME", fallback: "", doc: "Sentinel: the name of the master the sentinels monitor" },
  { name: "REDIS_SENTINEL_USERNAME", fallback: "", doc: "Sentinel: the sentinels' ACL user" },
  { name: "REDIS_SENTINEL_PASSWORD", fallback: "", doc: "Sentinel: the sentinels' password" },
  { name: "REDIS_CLUSTER_NODES", fallback: "", doc: "or Cluster: host:port,… of some of its nodes (the others are discovered)" },
  { name: "REDIS_USERNAME", fallback: "", doc: "the data nodes' ACL user (or in REDIS_URL)" },
  { name: "REDIS_PASSWORD", fallback: "", doc: "the data nodes' password (or in REDIS_URL)" },
  { name: "REDIS_TLS", fallback: "false", doc: "Sentinel and Cluster: TLS to the nodes and the sentinels (REDIS_URL says rediss:)" },
  { name: "REDIS_KEY_PREFIX", fallback: "gemini-webhooks:", doc: "namespace of every Redis key and stream (one per environment)" },
  { name: "REDIS_STREAM_PARTITIONS", fallback: "1", doc: "streams the events are spread over, one hash tag each (a Cluster spreads them over its masters); change it with an empty backlog (dedup keys are kept)" },
  { name: "REDIS_WAIT_REPLICAS", fallback: "0", doc: "answer 2xx only once this many replicas hold the event (WAIT), else 503 and the sender retries" },
  { name: "REDIS_WAIT_TIMEOUT_MS", fallback: "1000", doc: "how long an answer waits for REDIS_WAIT_REPLICAS" },
  { name: "REDIS_FAILOVER_WAIT_MS", fallback: "5000", doc: "an accept meeting Redis down (a failover, a blip) waits this long for it before answering 503" },
  { name: "HANDLER_MODULE", fallback: "", doc: "a module exporting async handle(event, meta) (default: log each event)" },
  { name: "HANDLER_URL", fallback: "", doc: "or a backend in any language: each verified event POSTed there, signed with FORWARD_SIGNING_SECRETS (https:, or http: to loopback)" },
  { name: "HANDLER_URL_ALLOW_HTTP", fallback: "false", doc: "allow an http: HANDLER_URL off loopback (a private network only: the events travel in clear text)" },
  { name: "FORWARD_SIGNING_SECRETS", fallback: "", doc: "HANDLER_URL: whsec_ secrets the forwards are signed with (each signs; two during a rotation), not Gemini's" },
  { name: "FORWARD_SIGNING_SECRETS_FILE", fallback: "", doc: "or a file holding them, re-read when it changes and on SIGHUP" },
  { name: "HANDLER_CONCURRENCY", fallback: "8", doc: "handlers running at once in this process" },
  { name: "HANDLER_TIMEOUT_MS", fallback: "30000", doc: "a handler run past this is a failed attempt (reason timeout); meta.signal is aborted" },
  { name: "HANDLER_MAX_ATTEMPTS", fallback: "5", doc: "durable mode: runs of one event before it is dead-lettered" },
  { name: "HANDLER_RETRY_BASE_MS", fallback: "2000", doc: "durable mode: a failed run is tried again after this × 2^(attempt−1), with jitter, at most 80 % of HANDLER_VISIBILITY_TIMEOUT_MS" },
  { name: "HANDLER_CIRCUIT_FAILURES", fallback: "20", doc: "durable mode: runs failing in a row that pause this replica's handling (circuit open, half-open probes from 5 s on); 0: never" },
  { name: "HANDLER_VISIBILITY_TIMEOUT_MS", fallback: "60000", doc: "durable mode: an event unacknowledged this long is taken over (> HANDLER_TIMEOUT_MS)" },
  { name: "QUEUE_MAX_LENGTH", fallback: "100000", doc: "backlog beyond which deliveries get 503 (durable mode: per partition)" },
  { name: "DEAD_LETTER_MAX", fallback: "10000", doc: "durable mode: dead letters kept; older ones are trimmed and counted" },
  { name: "SHUTDOWN_TIMEOUT_MS", fallback: "8000", doc: "on SIGTERM/SIGINT: time in-flight handlers get before exit (inside docker stop's 10 s)" },
  { name: "METRICS_PORT", fallback: "", doc: "serve /metrics on its own listener (the webhook port then answers 404 for it)" },
  { name: "METRICS_HOST", fallback: "", doc: "address of the metrics listener (default: HOST's)" },
  { name: "MAX_BODY_BYTES", fallback: "1048576", doc: "largest accepted body" },
  { name: "LOG_LEVEL", fallback: "info", doc: "fatal, error, warn, info, debug, trace or silent" },
];

/** Prefixes that belong to the receiver: an unknown name with one is a typo, and stops start-up. */
export const PREFIXES = ["WEBHOOK_", "REDIS_", "HANDLER_", "FORWARD_SIGNING_", "JWKS_", "JWT_", "DEAD_LETTER_", "METRICS_", "SHUTDOWN_"] as const;
// Not all of FORWARD_: handler modules read variables of their own such as FORWARD_URL (the durable-receiver example's).

/**
 * Variables Kubernetes injects for every Service in the namespace (a Service named `redis` gives
 * `REDIS_PORT=tcp://…`, `REDIS_SERVICE_HOST`, …): not typos, never refused.
 */
const SERVICE_LINK = /^[A-Z0-9_]+_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?)?)$/;

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/** Refuses a variable that carries one of the receiver's prefixes but is not one of its variables. */
function refuseUnknown(env: NodeJS.ProcessEnv): void {
  const known = new Set(VARIABLES.map((v) => v.name));
  for (const name of Object.keys(env).sort()) {
    if (known.has(name) || !PREFIXES.some((p) => name.startsWith(p)) || SERVICE_LINK.test(name)) continue;
    const closest = [...known].sort((a, b) => distance(name, a) - distance(name, b))[0];
    throw new ConfigError(
      `${name} is not a receiver variable (did you mean ${closest}?). Variables starting with ${PREFIXES.join(", ")} belong to the receiver; rename your own. See --help for the list.`,
    );
  }
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

/** Reads and checks the static secrets; the error names the variable (or file) and the entry's position. */
export function readSecrets(name: string, text: string): string[] {
  const secrets = parseSecrets(text);
  try {
    decodeSecrets(secrets);
  } catch (err) {
    throw new ConfigError(`${name}: ${(err as Error).message}`);
  }
  return secrets;
}

/**
 * The secrets file's text and mode, read only when it is a regular file of at most 1 MiB: a FIFO, a
 * device or a directory put in its place is refused without blocking (it is opened non-blocking and
 * checked before any read), so no writer, or none ever, can hold up the event loop.
 */
export function readSecretsFile(file: string): { text: string; mode: number } {
  const fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new Error("not a regular file");
    if (stat.size > 1024 * 1024) throw new Error("larger than 1 MiB");
    return { text: readFileSync(fd, "utf8"), mode: stat.mode & 0o777 };
  } finally {
    closeSync(fd);
  }
}

/** Secrets from `<name>` or `<name>_FILE` (one of them); the file's path is kept for reloads. */
function secretsFrom(env: NodeJS.ProcessEnv, name = "WEBHOOK_SIGNING_SECRETS"): { signingSecrets: string[]; signingSecretsFile?: string } {
  const file = env[`${name}_FILE`]?.trim();
  if (file && env[name]?.trim()) {
    throw new ConfigError(`${name} and ${name}_FILE exclude each other: set one`);
  }
  if (file) {
    let text: string;
    try {
      text = readSecretsFile(file).text;
    } catch (err) {
      throw new ConfigError(`${name}_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    return { signingSecrets: readSecrets(`${name}_FILE`, text), signingSecretsFile: file };
  }
  const text = env[name] ?? "";
  return { signingSecrets: parseSecrets(text).length ? readSecrets(name, text) : [] };
}

/** HANDLER_URL and its secrets; every mistake named at start-up. */
function forwardFrom(env: NodeJS.ProcessEnv): ReceiverConfig["forward"] {
  const raw = env.HANDLER_URL?.trim();
  const secrets = secretsFrom(env, "FORWARD_SIGNING_SECRETS");
  if (!raw) {
    if (secrets.signingSecrets.length || env.HANDLER_URL_ALLOW_HTTP?.trim()) throw new ConfigError("FORWARD_SIGNING_SECRETS and HANDLER_URL_ALLOW_HTTP are for HANDLER_URL, which is not set");
    return undefined;
  }
  if (env.HANDLER_MODULE?.trim()) throw new ConfigError("HANDLER_URL and HANDLER_MODULE exclude each other: the events go to one handler");
  const target = url(env, "HANDLER_URL", ["http:", "https:"])!;
  const parsed = new URL(target);
  // A password in the URL would be in every log line and error that names the target.
  if (parsed.username || parsed.password) throw new ConfigError("HANDLER_URL must not hold a user or password: the forwards are authenticated by their signature (FORWARD_SIGNING_SECRETS)");
  if (parsed.hash) throw new ConfigError("HANDLER_URL must not have a #fragment");
  if (parsed.protocol === "http:" && !isLoopback(parsed.hostname) && !boolean(env, "HANDLER_URL_ALLOW_HTTP", false)) {
    throw new ConfigError(`HANDLER_URL uses http: on ${parsed.hostname}, not loopback: use https:, or set HANDLER_URL_ALLOW_HTTP=true for a private network (the events and their signatures travel in clear text)`);
  }
  if (!secrets.signingSecrets.length) {
    throw new ConfigError("HANDLER_URL needs FORWARD_SIGNING_SECRETS (or FORWARD_SIGNING_SECRETS_FILE): a whsec_ secret of its own that the backend verifies the forwards with — not Gemini's signing secret");
  }
  return { url: target, ...secrets };
}

function jwtFrom(env: NodeJS.ProcessEnv): ReceiverConfig["jwt"] {
  const jwksUri = url(env, "JWKS_URI", ["http:", "https:"]);
  // Keys fetched in clear text can be swapped on the way: only loopback, or an explicit opt-in.
  const allowHttp = boolean(env, "JWKS_ALLOW_HTTP", false);
  if (jwksUri && new URL(jwksUri).protocol === "http:" && !isLoopback(new URL(jwksUri).hostname) && !allowHttp) {
    throw new ConfigError("JWKS_URI uses http: on a host other than loopback; use https:, or set JWKS_ALLOW_HTTP=true for a trusted network (e.g. a local emulator reached through the Docker gateway)");
  }
  const issuer = env.JWT_ISSUER?.trim();
  const audience = (env.JWT_AUDIENCE ?? "").split(/[\s,]+/).filter(Boolean);
  const parts = [jwksUri, issuer, audience.length ? "x" : undefined].filter(Boolean).length;
  if (parts !== 0 && parts !== 3) {
    throw new ConfigError("JWKS_URI, JWT_ISSUER and JWT_AUDIENCE go together: set all three for dynamic webhooks, or none");
  }
  if (parts === 0) return undefined;
  return {
    jwksUri: jwksUri!,
    issuer: issuer!,
    audience,
    requireBodyHash: boolean(env, "JWT_REQUIRE_BODY_HASH", true),
    maxTokenAgeSeconds: integer(env, "JWT_MAX_TOKEN_AGE_SECONDS", 600, 1, 86_400),
    maxLifetimeSeconds: integer(env, "JWT_MAX_LIFETIME_SECONDS", 3600, 1, 86_400),
    jwksMaxAgeMs: integer(env, "JWKS_MAX_AGE_MS", 300_000, 1_000, 86_400_000),
  };
}

function handlingFrom(env: NodeJS.ProcessEnv) {
  const handlerTimeoutMs = integer(env, "HANDLER_TIMEOUT_MS", 30_000, 10, 86_400_000);
  const visibilityTimeoutMs = integer(env, "HANDLER_VISIBILITY_TIMEOUT_MS", Math.max(60_000, handlerTimeoutMs * 2), 100, 86_400_000);
  // A live handler must never be taken over by another replica while it is allowed to run.
  if (visibilityTimeoutMs <= handlerTimeoutMs) {
    throw new ConfigError(`HANDLER_VISIBILITY_TIMEOUT_MS (${visibilityTimeoutMs}) must be greater than HANDLER_TIMEOUT_MS (${handlerTimeoutMs}), or another replica takes over events still running`);
  }
  return {
    handlerConcurrency: integer(env, "HANDLER_CONCURRENCY", 8, 1, 1024),
    handlerTimeoutMs,
    visibilityTimeoutMs,
    maxAttempts: integer(env, "HANDLER_MAX_ATTEMPTS", 5, 1, 1000),
    retryBaseMs: integer(env, "HANDLER_RETRY_BASE_MS", 2_000, 1, 3_600_000),
    circuitFailures: integer(env, "HANDLER_CIRCUIT_FAILURES", 20, 0, 1_000_000),
    queueMaxLength: integer(env, "QUEUE_MAX_LENGTH", 100_000, 1, 100_000_000),
    deadLetterMax: integer(env, "DEAD_LETTER_MAX", 10_000, 1, 10_000_000),
    shutdownTimeoutMs: integer(env, "SHUTDOWN_TIMEOUT_MS", 8_000, 0, 3_600_000),
  };
}

/**
 * An entry as it may be quoted back in an error: only when it holds nothing but the characters of a
 * host and port. Anything else (a URL, `user:pw@host:port`, any spelling that can carry a
 * password) is not quoted at all, so no part of a password is ever echoed.
 */
export function quotedEntry(entry: string): string {
  return /^[A-Za-z0-9.:[\]-]{1,80}$/.test(entry) ? JSON.stringify(entry) : "(not quoted: it is not a bare host:port and may hold credentials)";
}

/** `host:port,…` (IPv6 as `[::1]:6379`), each entry checked and named by its position. */
function hostPorts(env: NodeJS.ProcessEnv, name: string): HostPort[] {
  const entries = (env[name] ?? "").split(/[\s,]+/).filter(Boolean);
  return entries.map((entry, i) => {
    const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(entry);
    const port = Number(match?.[2]);
    if (!match || port < 1 || port > 65535) {
      const where = name === "REDIS_SENTINELS" ? "REDIS_SENTINEL_USERNAME and REDIS_SENTINEL_PASSWORD" : "REDIS_USERNAME and REDIS_PASSWORD";
      throw new ConfigError(`${name}: entry #${i + 1} ${quotedEntry(entry)} is not host:port (credentials go in ${where}, a scheme in REDIS_TLS)`);
    }
    return { host: match[1].replace(/^\[|\]$/g, ""), port };
  });
}

function topologyFrom(env: NodeJS.ProcessEnv): RedisTopology | undefined {
  const url_ = url(env, "REDIS_URL", ["redis:", "rediss:"]);
  const sentinels = hostPorts(env, "REDIS_SENTINELS");
  const nodes = hostPorts(env, "REDIS_CLUSTER_NODES");
  const given = [url_ && "REDIS_URL", sentinels.length && "REDIS_SENTINELS", nodes.length && "REDIS_CLUSTER_NODES"].filter(Boolean);
  if (given.length > 1) throw new ConfigError(`${given.join(" and ")} exclude each other: set one (a server, Sentinel or a Cluster)`);
  const name = env.REDIS_SENTINEL_NAME?.trim();
  if (sentinels.length && !name) throw new ConfigError("REDIS_SENTINELS needs REDIS_SENTINEL_NAME: the name of the master the sentinels monitor (sentinel monitor <name> …)");
  for (const only of ["REDIS_SENTINEL_NAME", "REDIS_SENTINEL_USERNAME", "REDIS_SENTINEL_PASSWORD"]) {
    if (env[only]?.trim() && !sentinels.length) throw new ConfigError(`${only} is set without REDIS_SENTINELS`);
  }
  if (url_) return { kind: "single", url: url_ };
  if (sentinels.length) {
    const username = env.REDIS_SENTINEL_USERNAME?.trim();
    const password = env.REDIS_SENTINEL_PASSWORD;
    return { kind: "sentinel", sentinels, name: name!, ...(username ? { sentinelUsername: username } : {}), ...(password ? { sentinelPassword: password } : {}) };
  }
  if (nodes.length) return { kind: "cluster", nodes };
  return undefined;
}

function redisFrom(env: NodeJS.ProcessEnv): RedisConfig | undefined {
  const keyPrefix = env.REDIS_KEY_PREFIX ?? "gemini-webhooks:";
  if (!/^[\x21-\x7a|~]{1,128}$/.test(keyPrefix)) throw new ConfigError("REDIS_KEY_PREFIX must be 1-128 printable characters without spaces or braces (braces would change the keys' Cluster hash tag)");
  const topology = topologyFrom(env);
  const username = env.REDIS_USERNAME?.trim();
  const password = env.REDIS_PASSWORD;
  const tls = boolean(env, "REDIS_TLS", false);
  if (!topology) {
    const stray = VARIABLES.map((v) => v.name).filter((n) => n.startsWith("REDIS_") && n !== "REDIS_KEY_PREFIX" && env[n]?.trim());
    if (stray.length) throw new ConfigError(`${stray[0]} is set but no Redis is: set REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES (without them the receiver runs in memory)`);
    return undefined;
  }
  if (topology.kind === "single") {
    const parsed = new URL(topology.url);
    if (password && parsed.password) throw new ConfigError("REDIS_PASSWORD and a password in REDIS_URL: set one");
    if (tls) throw new ConfigError("REDIS_TLS applies to REDIS_SENTINELS and REDIS_CLUSTER_NODES; with REDIS_URL, use the rediss: scheme");
  }
  const waitReplicas = integer(env, "REDIS_WAIT_REPLICAS", 0, 0, 16);
  return {
    topology,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    tls,
    keyPrefix,
    partitions: integer(env, "REDIS_STREAM_PARTITIONS", 1, 1, 256),
    waitReplicas,
    waitTimeoutMs: integer(env, "REDIS_WAIT_TIMEOUT_MS", 1_000, 1, 60_000),
    failoverWaitMs: integer(env, "REDIS_FAILOVER_WAIT_MS", 5_000, 0, 60_000),
  };
}

/** What the operator commands (`dead-letters …`) need: the same variables as the server, secrets not required. */
export function loadRedisConfig(env: NodeJS.ProcessEnv = process.env): RedisConfig {
  refuseUnknown(env);
  const redis = redisFrom(env);
  if (!redis) throw new ConfigError("no Redis is set (REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES): dead letters exist in durable mode only; run this with the server's environment");
  return redis;
}

/** The help text's list of variables, from VARIABLES. */
export function variablesHelp(): string {
  const width = Math.max(...VARIABLES.map((v) => v.name.length)) + 2;
  return VARIABLES.map((v) => `  ${v.name.padEnd(width)}${v.doc}${v.fallback ? ` (${v.fallback})` : ""}`).join("\n");
}

function redisConfig(env: NodeJS.ProcessEnv): Pick<ReceiverConfig, "redis"> {
  const redis = redisFrom(env);
  return redis ? { redis } : {};
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ReceiverConfig {
  refuseUnknown(env);
  const { signingSecrets, signingSecretsFile } = secretsFrom(env);
  const jwt = jwtFrom(env);
  if (signingSecrets.length === 0 && !jwt) {
    throw new ConfigError("nothing to verify with: set WEBHOOK_SIGNING_SECRETS (static webhooks) and/or JWKS_URI, JWT_ISSUER, JWT_AUDIENCE (dynamic webhooks)");
  }
  const forward = forwardFrom(env);
  if (forward && forward.signingSecrets.some((secret) => signingSecrets.includes(secret))) {
    throw new ConfigError("FORWARD_SIGNING_SECRETS must not hold a Gemini signing secret (WEBHOOK_SIGNING_SECRETS): a backend holding it could forge deliveries to this receiver; generate one of its own");
  }
  const handlerModule = env.HANDLER_MODULE?.trim() || undefined;
  if (handlerModule && !existsSync(handlerModule)) throw new ConfigError(`HANDLER_MODULE: no file at ${handlerModule}`);
  const logLevel = env.LOG_LEVEL?.trim() || "info";
  if (!["fatal", "error", "warn", "info", "debug", "trace", "silent"].includes(logLevel)) {
    throw new ConfigError(`LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent; got ${JSON.stringify(logLevel)}`);
  }
  const port = integer(env, "PORT", 8080, 0, 65535);
  const metricsPort = env.METRICS_PORT?.trim() ? integer(env, "METRICS_PORT", 0, 1, 65535) : undefined;
  if (metricsPort !== undefined && metricsPort === port) throw new ConfigError(`METRICS_PORT must differ from PORT (both ${port})`);
  const host = env.HOST?.trim() || "0.0.0.0";
  return {
    port,
    host,
    signingSecrets,
    ...(signingSecretsFile ? { signingSecretsFile } : {}),
    ...(handlerModule ? { handlerModule } : {}),
    ...(forward ? { forward } : {}),
    ...handlingFrom(env),
    toleranceSeconds: integer(env, "WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS", 300, 1, 3600),
    jwt,
    ...redisConfig(env),
    ...(metricsPort !== undefined ? { metrics: { port: metricsPort, host: env.METRICS_HOST?.trim() || host } } : {}),
    maxBodyBytes: integer(env, "MAX_BODY_BYTES", 1024 * 1024, 1024, 64 * 1024 * 1024),
    logLevel,
  };
}
