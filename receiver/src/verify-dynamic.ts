/**
 * Dynamic (per-job) deliveries: an RS256 JWT in `webhook-signature`, verified with jose against the
 * sender's JWKS. One remote key set per JWKS URL and process (cached, with a cooldown so a flood of
 * unknown `kid`s cannot make us fetch the JWKS on every request). `aud`, `iss` and `exp` are
 * required, and `body_sha256` binds the token to the exact body.
 */
import { createHash } from "node:crypto";
import { createRemoteJWKSet, errors as joseErrors, jwtVerify } from "jose";
import { WebhookVerificationError } from "./errors";
import { checkedTimestamp, HeaderSource, messageId, singleHeader } from "./headers";

export interface DynamicVerifyOptions {
  jwksUri: string;
  issuer: string;
  /** Expected `aud`: the URL the sender delivers to (this endpoint's public URL). */
  audience: string | string[];
  /** Require and check `body_sha256` (default true). */
  requireBodyHash?: boolean;
  toleranceSeconds?: number;
  /** Minimum ms between JWKS fetches (default 30 000). */
  cooldownMs?: number;
}

export interface VerifiedDynamicDelivery {
  webhookId: string;
  timestamp: number;
  claims: Record<string, unknown>;
}

const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();

function keySet(uri: string, cooldownMs: number): ReturnType<typeof createRemoteJWKSet> {
  const cacheKey = `${uri} ${cooldownMs}`;
  let set = keySets.get(cacheKey);
  if (!set) {
    set = createRemoteJWKSet(new URL(uri), { cooldownDuration: cooldownMs, cacheMaxAge: 10 * 60_000, timeoutDuration: 5_000 });
    keySets.set(cacheKey, set);
  }
  return set;
}

export async function verifyDynamicDelivery(
  rawBody: Buffer | string,
  headers: HeaderSource,
  options: DynamicVerifyOptions,
): Promise<VerifiedDynamicDelivery> {
  const webhookId = messageId(headers);
  const timestamp = checkedTimestamp(headers, options.toleranceSeconds ?? 300, Math.floor(Date.now() / 1000));
  const token = singleHeader(headers, "webhook-signature");
  if (token.length > 8192 || token.split(".").length !== 3) throw new WebhookVerificationError("malformed", "webhook-signature is not a JWT");
  let claims: Record<string, unknown>;
  try {
    ({ payload: claims } = await jwtVerify(token, keySet(options.jwksUri, options.cooldownMs ?? 30_000), {
      algorithms: ["RS256"],
      issuer: options.issuer,
      audience: options.audience,
      requiredClaims: ["exp", "iat", "iss", "aud"],
      clockTolerance: 5,
    }));
  } catch (err) {
    const code = err instanceof joseErrors.JOSEError ? err.code : "ERR_JWT_INVALID";
    throw new WebhookVerificationError("unauthorized_jwt", code);
  }
  if (claims.webhook_id !== undefined && claims.webhook_id !== webhookId) {
    throw new WebhookVerificationError("unauthorized_jwt", "token webhook_id does not match the webhook-id header");
  }
  if (options.requireBodyHash !== false || claims.body_sha256 !== undefined) {
    const body = typeof rawBody === "string" ? Buffer.from(rawBody) : rawBody;
    const actual = createHash("sha256").update(body).digest("base64url");
    if (claims.body_sha256 !== actual) throw new WebhookVerificationError("unauthorized_jwt", "body does not match the token's body_sha256");
  }
  return { webhookId, timestamp, claims };
}
