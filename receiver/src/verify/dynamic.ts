/**
 * Dynamic (per-job) deliveries — on any runtime (jose and Web Crypto; the Node server and the
 * portable entry share this file): an RS256 JWT in `webhook-signature`, verified with jose against the
 * sender's JWKS (jwks.ts: cached, refetches and failures both bounded). `iss`, `aud`, `iat` and `exp`
 * are required; a token may be at most `maxTokenAgeSeconds` old and live at most
 * `maxLifetimeSeconds`; `body_sha256` binds the token to the exact body.
 *
 * Google does not document this token's claims: each assumption is an option, and a failed check
 * names the claim in its detail.
 */
import { errors as joseErrors, jwtVerify } from "jose";
import { WebhookVerificationError } from "./errors";
import { checkedTimestamp, HeaderSource, messageId, singleHeader } from "./headers";
import { remoteKeySet } from "./jwks";
import { canonicalJwtSignature, sha256Base64url } from "./rules";

export interface DynamicVerifyOptions {
  jwksUri: string;
  issuer: string;
  /** Expected `aud`: the URL the sender delivers to (this endpoint's public URL). */
  audience: string | string[];
  /** Require and check `body_sha256` (default true). When false, a token that carries one is still checked. */
  requireBodyHash?: boolean;
  toleranceSeconds?: number;
  /** Refuse tokens issued longer ago than this (default 600). */
  maxTokenAgeSeconds?: number;
  /** Refuse tokens whose `exp - iat` is longer than this (default 3600). */
  maxLifetimeSeconds?: number;
  /** Minimum ms between JWKS refetches for an unknown `kid` (default 30 000). */
  cooldownMs?: number;
  /** Ms a failing JWKS is not asked again (default 10 000). */
  failureCooldownMs?: number;
  /** A cached JWKS older than this is refetched before use (default 300 000): how long a removed key stays trusted. */
  maxAgeMs?: number;
}

export interface VerifiedDynamicDelivery {
  webhookId: string;
  timestamp: number;
  claims: Record<string, unknown>;
  /**
   * Keys to deduplicate on: the `webhook-id` header and the token's signature bytes, so a captured
   * token is processed at most once whatever headers are sent with it (and however it is re-spelled:
   * only the canonical base64url spelling of each part is accepted). The first is the one the sender
   * cannot vary: the webhook id when the token's `webhook_id` claim binds it, else the token's.
   */
  dedupKeys: string[];
}

/** The clock skew accepted on `iat` and `exp`, seconds. */
const CLOCK_TOLERANCE_SECONDS = 5;

export async function verifyDynamicDelivery(
  rawBody: Uint8Array | string,
  headers: HeaderSource,
  options: DynamicVerifyOptions,
): Promise<VerifiedDynamicDelivery> {
  const webhookId = messageId(headers);
  const timestamp = checkedTimestamp(headers, options.toleranceSeconds ?? 300, Math.floor(Date.now() / 1000));
  const token = singleHeader(headers, "webhook-signature");
  // Canonical base64url only: one token has one spelling, so a captured token cannot be re-spelled past dedup.
  const signature = canonicalJwtSignature(token);
  const keys = remoteKeySet(options.jwksUri, { cooldownMs: options.cooldownMs, failureCooldownMs: options.failureCooldownMs, maxAgeMs: options.maxAgeMs });
  const verify = () =>
    jwtVerify(token, keys.resolver, {
      algorithms: ["RS256"],
      issuer: options.issuer,
      audience: options.audience,
      requiredClaims: ["exp", "iat", "iss", "aud"],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
      maxTokenAge: options.maxTokenAgeSeconds ?? 600,
    });
  let claims: Record<string, unknown>;
  try {
    try {
      ({ payload: claims } = await verify());
    } catch (err) {
      // A known kid whose signature fails: the sender may have replaced that key. Refetch (bounded by the cooldown) and try once more.
      if ((err as { code?: string }).code !== "ERR_JWS_SIGNATURE_VERIFICATION_FAILED" || !(await keys.refreshAfterSignatureFailure())) throw err;
      ({ payload: claims } = await verify());
    }
  } catch (err) {
    if (err instanceof WebhookVerificationError) throw err;
    // Claim failures (JWTClaimValidationFailed, JWTExpired) name the claim.
    if (err instanceof joseErrors.JOSEError && "claim" in err) {
      const { claim, reason } = err as joseErrors.JWTClaimValidationFailed;
      throw new WebhookVerificationError("unauthorized_jwt", `${err.code} claim ${claim}: ${reason}`);
    }
    const code = err instanceof joseErrors.JOSEError ? err.code : "ERR_JWT_INVALID";
    throw new WebhookVerificationError("unauthorized_jwt", code);
  }
  const iat = claims.iat as number;
  const exp = claims.exp as number;
  if (iat > Math.floor(Date.now() / 1000) + CLOCK_TOLERANCE_SECONDS) throw new WebhookVerificationError("unauthorized_jwt", "claim iat is in the future");
  if (exp - iat > (options.maxLifetimeSeconds ?? 3600)) {
    throw new WebhookVerificationError("unauthorized_jwt", `claim exp: the token lives ${exp - iat} s, longer than ${options.maxLifetimeSeconds ?? 3600} s`);
  }
  if (claims.webhook_id !== undefined && claims.webhook_id !== webhookId) {
    throw new WebhookVerificationError("unauthorized_jwt", "claim webhook_id does not match the webhook-id header");
  }
  if (options.requireBodyHash !== false || claims.body_sha256 !== undefined) {
    if (claims.body_sha256 === undefined) throw new WebhookVerificationError("unauthorized_jwt", "claim body_sha256 is missing (JWT_REQUIRE_BODY_HASH=false accepts tokens without it)");
    const actual = await sha256Base64url(rawBody);
    if (claims.body_sha256 !== actual) throw new WebhookVerificationError("unauthorized_jwt", "claim body_sha256 does not match the body");
  }
  // The signature identifies the token (canonical, so its text is its bytes); hashed, so no token
  // material reaches the dedup store. The same key as 0.2 computed: upgrading opens no replay window.
  const tokenKey = "jwt:" + (await sha256Base64url(signature));
  // The first key anchors the delivery's partition: the webhook id when the token binds it (a retry
  // carries a fresh token for the same id), else the token itself (the id is then the sender's to
  // choose, and a replay under fresh ids must still meet the token's key).
  return { webhookId, timestamp, claims, dedupKeys: claims.webhook_id === undefined ? [tokenKey, webhookId] : [webhookId, tokenKey] };
}
