/**
 * Standard Webhooks v1 signatures: `v1,` + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")),
 * key = base64-decoded secret without `whsec_`. One signature per valid secret, space-separated.
 */
import { createHmac } from "node:crypto";

export function secretKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith("whsec_") ? secret.slice(6) : secret, "base64");
}

export function signatureHeader(keys: Buffer[], msgId: string, timestampSeconds: number, body: Buffer): string {
  const prefix = Buffer.from(`${msgId}.${timestampSeconds}.`);
  return keys
    .map((key) => "v1," + createHmac("sha256", key).update(prefix).update(body).digest("base64"))
    .join(" ");
}
