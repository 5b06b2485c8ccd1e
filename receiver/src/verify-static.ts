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

/** The entries of a secrets text: whitespace- or comma-separated. */
export function parseSecrets(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}

/**
 * Decodes `whsec_` + base64 secrets once, for many verifications. KeyObjects spare each HMAC the
 * import of the raw key. Anything else — no prefix, quotes, hex, characters after the base64, a key
 * outside 24–64 bytes — is refused by position, never echoed: a secret that decodes to the wrong key
 * would reject every delivery.
 */
export function decodeSecrets(secrets: readonly string[]): KeyObject[] {
  if (secrets.length === 0) throw new TypeError("at least one signing secret is required");
  return secrets.map((secret, i) => {
    const at = `entry #${i + 1} of ${secrets.length}`;
    const encoded = secret.startsWith("whsec_") ? secret.slice(6) : undefined;
    // Hex is valid base64 text, but a hex secret decoded as base64 is a different key: refuse it by name.
    if (encoded !== undefined && /^[0-9a-fA-F]{32,}$/.test(encoded)) {
      throw new TypeError(`${at} is hex after whsec_; a signing secret is whsec_ followed by base64 (as the API returns it)`);
    }
    const key = encoded !== undefined && /^[A-Za-z0-9+/]+={0,2}$/.test(encoded) && encoded.length % 4 === 0 ? Buffer.from(encoded, "base64") : undefined;
    if (!key || key.toString("base64") !== encoded) {
      throw new TypeError(`${at} is not a secret of the form whsec_<base64> (check for quotes, a missing prefix or extra characters)`);
    }
    if (key.length < 24 || key.length > 64) throw new TypeError(`${at} decodes to ${key.length} bytes; a signing secret has 24 to 64`);
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
