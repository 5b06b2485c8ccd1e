/**
 * The sender's JWKS, fetched and cached per URL and process, with both directions bounded:
 * - a key set older than `maxAgeMs` (JWKS_MAX_AGE_MS, default 5 min) is refetched before it is used:
 *   a key the sender removed stays trusted at most that long;
 * - a key set that answered is refetched for an unknown `kid`, or for a known `kid` whose signature
 *   fails (the sender may have replaced the key under the same id), at most once per `cooldownMs`;
 * - a key set that failed (network error, non-200, garbage) is not asked again for `failureCooldownMs`:
 *   every request meanwhile fails fast as `jwks_unavailable`, so a flood of tokens cannot turn into a
 *   flood of outbound fetches. Concurrent requests share one fetch.
 */
import { createLocalJWKSet, type JSONWebKeySet, type JWTHeaderParameters, type FlattenedJWSInput } from "jose";
import { WebhookVerificationError } from "./errors";
import { readCappedBytes } from "./read-capped";

export interface JwksOptions {
  /** Minimum ms between refetches of a key set that answered (default 30 000). */
  cooldownMs?: number;
  /** Ms a failed key set is not asked again (default 10 000). */
  failureCooldownMs?: number;
  /** A key set older than this is refetched on the next request (default 5 min). */
  maxAgeMs?: number;
  /** Ms one fetch may take (default 5 000). */
  timeoutMs?: number;
}

const MAX_JWKS_BYTES = 256 * 1024;
export const DEFAULT_JWKS_MAX_AGE_MS = 5 * 60_000;

/** A response body as text, read capped (read-capped.ts). */
export async function readCapped(response: Response, max: number): Promise<string> {
  return new TextDecoder().decode(await readCappedBytes(response, max, (detail) => new Error(`response too large (${detail})`)));
}

export class RemoteKeySet {
  #local?: ReturnType<typeof createLocalJWKSet>;
  #fetchedAt = -Infinity;
  #failedAt = -Infinity;
  #failure = "";
  #pending?: Promise<boolean>;
  /** Outbound fetches made (for metrics and tests). */
  fetches = 0;

  constructor(
    readonly uri: string,
    private readonly options: JwksOptions = {},
  ) {}

  /** A jose key resolver: `jwtVerify(token, keySet.resolver)`. */
  readonly resolver = async (header: JWTHeaderParameters, token: FlattenedJWSInput) => {
    const now = Date.now();
    if (!this.#local || now - this.#fetchedAt > (this.options.maxAgeMs ?? DEFAULT_JWKS_MAX_AGE_MS)) await this.#refresh(now);
    try {
      return await this.#local!(header, token);
    } catch (err) {
      if ((err as { code?: string }).code !== "ERR_JWKS_NO_MATCHING_KEY") throw err;
      // An unknown kid may be a new key: refetch, at most once per cooldown.
      if (now - this.#fetchedAt < (this.options.cooldownMs ?? 30_000)) throw err;
      if (!(await this.#refresh(now))) throw this.#unavailable();
      return this.#local!(header, token);
    }
  };

  /**
   * After a signature failed with a key this set holds: refetch, at most once per cooldown. True
   * when a new set was fetched (the caller verifies once more), false when the old one must do.
   */
  async refreshAfterSignatureFailure(): Promise<boolean> {
    const now = Date.now();
    if (now - this.#fetchedAt < (this.options.cooldownMs ?? 30_000)) return false;
    return this.#refresh(now).catch(() => false);
  }

  #unavailable(): WebhookVerificationError {
    return new WebhookVerificationError("jwks_unavailable", `JWKS unavailable (${this.#failure})`);
  }

  /** True when a fresh key set was fetched; false when the old one must do; throws when there is none. */
  async #refresh(now: number): Promise<boolean> {
    if (now - this.#failedAt < (this.options.failureCooldownMs ?? 10_000)) {
      if (!this.#local) throw this.#unavailable();
      return false;
    }
    this.#pending ??= this.#fetch().finally(() => (this.#pending = undefined));
    return this.#pending;
  }

  async #fetch(): Promise<boolean> {
    this.fetches++;
    try {
      // No redirect followed: a 3xx is a failure like any other non-200 ("manual", as workerd has no "error").
      const response = await fetch(this.uri, { signal: AbortSignal.timeout(this.options.timeoutMs ?? 5_000), redirect: "manual", headers: { accept: "application/json" } });
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
      const text = await readCapped(response, MAX_JWKS_BYTES);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new Error("response is not JSON");
      }
      if (!parsed || typeof parsed !== "object" || !Array.isArray((parsed as { keys?: unknown }).keys)) throw new Error("response is not a JWK set");
      this.#local = createLocalJWKSet(parsed as JSONWebKeySet);
      this.#fetchedAt = Date.now();
      return true;
    } catch (err) {
      this.#failedAt = Date.now();
      const e = err as { name?: string; message?: string };
      this.#failure = e.name === "TimeoutError" ? "timed out" : (e.message ?? "fetch failed").slice(0, 100);
      // A key set fetched before keeps serving its keys; only having none at all is fatal.
      if (!this.#local) throw this.#unavailable();
      return false;
    }
  }
}

const keySets = new Map<string, RemoteKeySet>();

/** One key set per URL and options in this process. */
export function remoteKeySet(uri: string, options: JwksOptions = {}): RemoteKeySet {
  const key = `${uri} ${options.cooldownMs} ${options.failureCooldownMs} ${options.maxAgeMs} ${options.timeoutMs}`;
  let set = keySets.get(key);
  if (!set) keySets.set(key, (set = new RemoteKeySet(uri, options)));
  return set;
}
