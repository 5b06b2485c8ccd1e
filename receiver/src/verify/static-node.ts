/**
 * Standard Webhooks v1 verification on node:crypto (the server's: synchronous, the fastest here; the
 * portable entry does the same on Web Crypto, with the same rules from rules.ts): HMAC-SHA256 over "{id}.{timestamp}.{body}"
 * with each configured secret (several during a rotation), compared in constant time with each
 * `v1,` signature of the header. The exact received bytes are verified, never re-serialised JSON.
 */
import { createHmac, createSecretKey, KeyObject, timingSafeEqual } from "node:crypto";
import { WebhookVerificationError } from "./errors";
import { checkedTimestamp, HeaderSource, messageId, singleHeader } from "./headers";
import { secretKeyBytes, v1Signatures } from "./rules";

export { parseSecrets } from "./rules";

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

/**
 * Decodes `whsec_` + base64 secrets once, for many verifications (rules.ts says what a secret is).
 * KeyObjects spare each HMAC the import of the raw key.
 */
export function decodeSecrets(secrets: readonly string[]): KeyObject[] {
  return secretKeyBytes(secrets).map((bytes) => createSecretKey(bytes));
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
  const signatures = v1Signatures(singleHeader(headers, "webhook-signature"));
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
