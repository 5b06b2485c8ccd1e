/**
 * `gemini-webhooks-receiver/web`: verify Gemini's deliveries on any runtime with Web Crypto —
 * Cloudflare Workers, Deno, Bun, Vercel and Next.js route handlers, Cloud Run, Node — with the rules
 * the receiver's server applies (../verify): static Standard Webhooks with several secrets during a
 * rotation, canonical encodings only, the timestamp window; dynamic JWTs (RS256 pinned, the JWKS
 * cached with its caps, issuer, audience, token age and lifetime, the body hash); and, given a store,
 * deduplication on the same keys as the server, so a replay under fresh headers runs once.
 *
 *   const verifier = new WebhookVerifier({ secrets: env.GEMINI_WEBHOOK_SECRETS });
 *   const event = await verifier.verifyRequest(request);   // throws WebhookVerificationError
 *
 * No `node:` module, no Buffer: it bundles for a browser-like platform (test/web checks the bundle).
 */
import { WebhookVerificationError } from "../verify/errors";
import { checkedTimestamp, HeaderSource, messageId, singleHeader } from "../verify/headers";
import { DynamicVerifyOptions, verifyDynamicDelivery } from "../verify/dynamic";
import { readCappedBytes } from "../verify/read-capped";
import type { DedupStore } from "./dedup";
import { parseEnvelope, parseSecrets, secretKeyBytes, signedContent, v1Signatures } from "../verify/rules";

const decoder = new TextDecoder();

export { WebhookVerificationError } from "../verify/errors";
export type { VerificationReason } from "../verify/errors";
export type { DynamicVerifyOptions } from "../verify/dynamic";

export { DenoKvDedup, MemoryDedup, RedisDedup, WorkersKvDedup } from "./dedup";
export type { DedupStore, DenoKvLike, RedisCommand, WorkersKvLike } from "./dedup";

export interface WebVerifyOptions {
  /** Static webhooks: `whsec_` secrets, an array or whitespace/comma-separated text (both during a rotation). */
  secrets?: string | readonly string[];
  /** Dynamic webhooks: the sender's key set, issuer and this endpoint's URL (the token's audience). */
  dynamic?: DynamicVerifyOptions;
  /** Accepted clock difference both ways, seconds (default 300). */
  toleranceSeconds?: number;
  /** The largest body read from a Request (default 1 MiB): past it, refused before it is buffered. */
  maxBodyBytes?: number;
  /** Deduplicate: a delivery whose keys were claimed is refused with reason `duplicate`. */
  dedup?: DedupStore;
  /** How long dedup keys are kept, seconds (default 25 h: Gemini retries for 24 h). */
  dedupTtlSeconds?: number;
}

export interface VerifiedWebhook {
  kind: "static" | "dynamic";
  /** The `webhook-id` header: the idempotency key. */
  webhookId: string;
  timestamp: number;
  type: string;
  data: Record<string, unknown>;
  userMetadata?: Record<string, unknown>;
  envelope: Record<string, unknown>;
  /** The verified body as it arrived. */
  body: string;
  /** What a dedup store is asked to claim (the server's keys). */
  dedupKeys: string[];
  /** A dynamic delivery's token claims. */
  claims?: Record<string, unknown>;
}

/** A refused duplicate: answer 200 (the sender must stop retrying), do not handle it again. */
export class DuplicateDeliveryError extends Error {
  override readonly name = "DuplicateDeliveryError";
  readonly reason = "duplicate";

  constructor(readonly webhookId: string) {
    super("duplicate: this delivery was already verified");
  }
}

/** An imported HMAC key (Web Crypto's CryptoKey, named without a global type some runtimes' typings lack). */
type HmacKey = Awaited<ReturnType<typeof crypto.subtle.importKey>>;

export class WebhookVerifier {
  readonly #keys?: Promise<HmacKey[]>;
  /** The keys once imported (no await per verification after the first). */
  #imported?: HmacKey[];

  constructor(private readonly options: WebVerifyOptions) {
    const secrets = typeof options.secrets === "string" ? parseSecrets(options.secrets) : (options.secrets ?? []);
    if (secrets.length === 0 && !options.dynamic) throw new TypeError("WebhookVerifier needs secrets (static webhooks) and/or dynamic (the JWKS, issuer and audience)");
    if (secrets.length > 0) {
      const raw = secretKeyBytes(secrets); // throws by position, never echoing a secret
      this.#keys = Promise.all(raw.map((bytes) => crypto.subtle.importKey("raw", bytes as Uint8Array<ArrayBuffer>, { name: "HMAC", hash: "SHA-256" }, false, ["verify"])));
    }
  }

  /**
   * Verifies a body and its headers. A `webhook-signature` of `v1,` entries is a static delivery; a
   * JWT a dynamic one. Throws WebhookVerificationError (reason and a safe detail), or
   * DuplicateDeliveryError when a dedup store has seen it.
   */
  async verify(body: Uint8Array | string, headers: HeaderSource): Promise<VerifiedWebhook> {
    if (body.length === 0) throw new WebhookVerificationError("malformed", "empty body");
    const signature = singleHeader(headers, "webhook-signature");
    if (!signature.startsWith("v1") && signature.indexOf(".") > 0) {
      if (!this.options.dynamic) throw new WebhookVerificationError("unauthorized_jwt", "a dynamic delivery, and no dynamic options are set");
      const result = await verifyDynamicDelivery(body, headers, { ...this.options.dynamic, toleranceSeconds: this.options.dynamic.toleranceSeconds ?? this.options.toleranceSeconds });
      return this.#verified(body, "dynamic", result.webhookId, result.timestamp, result.dedupKeys, result.claims);
    }
    // The static path in one function with one await per HMAC: each further async layer costs
    // microseconds against a platform verify of a few (docs/performance.md).
    if (!this.#keys) throw new WebhookVerificationError("invalid_signature", "a static delivery, and no secrets are set");
    const keys = this.#imported ?? (this.#imported = await this.#keys);
    const webhookId = messageId(headers);
    const timestamp = checkedTimestamp(headers, this.options.toleranceSeconds ?? 300, Math.floor(Date.now() / 1000));
    const signatures = v1Signatures(signature);
    const content = signedContent(webhookId, timestamp, body) as Uint8Array<ArrayBuffer>;
    // One native, constant-time HMAC verification per (secret, signature) until one matches.
    for (const key of keys) {
      for (const candidate of signatures) {
        if (await crypto.subtle.verify("HMAC", key, candidate as Uint8Array<ArrayBuffer>, content)) {
          return this.#verified(body, "static", webhookId, timestamp, [webhookId]);
        }
      }
    }
    throw new WebhookVerificationError("invalid_signature", "no signature matches a configured secret");
  }

  /** The result of a verified delivery, once its dedup keys are claimed (a promise only when a store is set). */
  #verified(body: Uint8Array | string, kind: "static" | "dynamic", webhookId: string, timestamp: number, dedupKeys: string[], claims?: Record<string, unknown>): VerifiedWebhook | Promise<VerifiedWebhook> {
    const text = typeof body === "string" ? body : decoder.decode(body);
    const envelope = parseEnvelope(text);
    const result: VerifiedWebhook = { kind, webhookId, timestamp, dedupKeys, type: envelope.type as string, data: (envelope.data ?? {}) as Record<string, unknown>, envelope, body: text };
    if (envelope.user_metadata) result.userMetadata = envelope.user_metadata as Record<string, unknown>;
    if (claims) result.claims = claims;
    const dedup = this.options.dedup;
    if (!dedup) return result;
    const ttl = this.options.dedupTtlSeconds ?? 25 * 3600;
    // New only when every key is: the webhook id and (dynamic) the token itself.
    return Promise.all(dedupKeys.map((key) => dedup.claim(key, ttl))).then((claimed) => {
      if (!claimed.every(Boolean)) throw new DuplicateDeliveryError(webhookId);
      return result;
    });
  }

  /**
   * Forgets a verified delivery's dedup keys: call it when handing the event on failed and you answer
   * 5xx, so Gemini's retry is handled rather than refused as a duplicate. A no-op without a store.
   */
  async forget(event: Pick<VerifiedWebhook, "dedupKeys">): Promise<void> {
    const dedup = this.options.dedup;
    if (dedup) await Promise.all(event.dedupKeys.map((key) => dedup.release(key)));
  }

  /** Reads a Request's body (JSON only, capped before it is buffered) and verifies it. */
  async verifyRequest(request: Request): Promise<VerifiedWebhook> {
    const type = (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
    if (type !== "application/json") throw new WebhookVerificationError("malformed", "content-type is not application/json");
    const max = this.options.maxBodyBytes ?? 1024 * 1024;
    const body = await readCappedBytes(request, max, () => new WebhookVerificationError("too_large", `body over ${max} bytes`));
    return this.verify(body, request.headers);
  }
}

/** The status a refusal is answered with: 200 for a duplicate, 503 when the key set is unreachable (retry), 400 or 401 otherwise. */
export function statusFor(err: unknown): number {
  if (err instanceof DuplicateDeliveryError) return 200;
  if (!(err instanceof WebhookVerificationError)) return 500;
  if (err.reason === "jwks_unavailable") return 503;
  return err.reason === "malformed" ? 400 : err.reason === "too_large" ? 413 : 401;
}
