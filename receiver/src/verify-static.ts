/**
 * Standard Webhooks v1 verification on node:crypto: HMAC-SHA256 over "{id}.{timestamp}.{body}"
 * with each configured secret (several during a rotation), compared in constant time with each
 * `v1,` signature of the header. The exact received bytes are verified, never re-serialised JSON.
 */
import { createHmac, createSecretKey, KeyObject, timingSafeEqual } from "node:crypto";
import { WebhookVerificationError } from "./errors";
import { checkedTimestamp, HeaderSource, messageId, singleHeader } from "./headers";

export interface StaticVerifyOptions {
  /** Accepted clock difference both ways, seconds (default 300). */
  toleranceSeconds?: number;
  /** Current time in seconds (tests). */
  nowSeconds?: number;
}

export interface VerifiedDelivery {
  webhookId: string;
  timestamp: number;
}

const MAX_SIGNATURES = 16;

/**
 * Decodes `whsec_`-prefixed (or bare) base64 secrets once, for many verifications. KeyObjects spare
 * each HMAC the import of the raw key.
 */
export function decodeSecrets(secrets: readonly string[]): KeyObject[] {
  if (secrets.length === 0) throw new TypeError("at least one signing secret is required");
  return secrets.map((secret, i) => {
    const key = Buffer.from(secret.startsWith("whsec_") ? secret.slice(6) : secret, "base64");
    if (key.length < 16) throw new TypeError(`signing secret #${i + 1} is not a whsec_ base64 secret of at least 16 bytes`);
    return createSecretKey(key);
  });
}

export function verifyStaticDelivery(
  rawBody: Buffer | string,
  headers: HeaderSource,
  secrets: readonly string[] | readonly KeyObject[],
  options: StaticVerifyOptions = {},
): VerifiedDelivery {
  const keys = typeof secrets[0] === "string" ? decodeSecrets(secrets as string[]) : (secrets as KeyObject[]);
  const webhookId = messageId(headers);
  const nowSeconds = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  const timestamp = checkedTimestamp(headers, options.toleranceSeconds ?? 300, nowSeconds);
  const header = singleHeader(headers, "webhook-signature");
  const signatures: Buffer[] = [];
  for (const part of header.split(" ").slice(0, MAX_SIGNATURES)) {
    const comma = part.indexOf(",");
    if (comma < 0 || part.slice(0, comma) !== "v1") continue; // other schemes (v1a) are not ours to check
    const encoded = part.slice(comma + 1);
    if (/^[A-Za-z0-9+/]{43}=$/.test(encoded)) signatures.push(Buffer.from(encoded, "base64"));
  }
  if (signatures.length === 0) throw new WebhookVerificationError("invalid_signature", "no v1 signature in webhook-signature");
  const body = typeof rawBody === "string" ? Buffer.from(rawBody) : rawBody;
  const prefix = Buffer.from(`${webhookId}.${timestamp}.`);
  for (const key of keys) {
    const expected = createHmac("sha256", key).update(prefix).update(body).digest();
    for (const signature of signatures) {
      if (timingSafeEqual(expected, signature)) return { webhookId, timestamp };
    }
  }
  throw new WebhookVerificationError("invalid_signature", "no signature matches a configured secret");
}
