/**
 * What a delivery must look like to be verified, on no runtime in particular (no `node:` module,
 * no Buffer): the one definition the Node server (static-node.ts, dynamic.ts) and the portable
 * Web Crypto entry (../web) both apply. Secrets are `whsec_` + canonical base64 of 24–64 bytes;
 * `v1,` signatures are the canonical base64 of 32 bytes; JWT parts are canonical base64url — each
 * text one to one with its bytes, so a captured signature has exactly one spelling.
 */
import { WebhookVerificationError } from "./errors";

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** Character code → 6-bit value, -1 outside the alphabet (one table per alphabet: a lookup per character). */
function table(alphabet: string): Int8Array {
  const values = new Int8Array(128).fill(-1);
  for (let i = 0; i < alphabet.length; i++) values[alphabet.charCodeAt(i)] = i;
  return values;
}
const B64_VALUES = table(B64);
const B64URL_VALUES = table(B64URL);
const encoder = new TextEncoder();

/** Bytes as base64 (`url`: base64url without padding). */
export function encodeBase64(bytes: Uint8Array, url = false): string {
  const alphabet = url ? B64URL : B64;
  let out = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = i + 1 >= bytes.length ? 2 : i + 2 >= bytes.length ? 3 : 4;
    for (let c = 0; c < chars; c++) out += alphabet[(n >> (18 - 6 * c)) & 63];
    if (!url) out += "=".repeat(4 - chars);
  }
  return out;
}

/**
 * The bytes of a canonical base64 (`url`: unpadded base64url) text, or undefined: only the
 * alphabet, padding exactly where it belongs (none for base64url), no spare bits set in the last
 * character. Decoders that ignore stray characters or spare bits give one value many spellings.
 */
export function decodeCanonicalBase64(text: string, url = false): Uint8Array | undefined {
  const body = url ? text : text.replace(/={1,2}$/, "");
  if (!url && (text.length % 4 !== 0 || text.length - body.length !== (4 - (body.length % 4)) % 4)) return undefined;
  if (body.length % 4 === 1) return undefined;
  const values = url ? B64URL_VALUES : B64_VALUES;
  const out = new Uint8Array(Math.floor((body.length * 6) / 8));
  let bits = 0;
  let value = 0;
  let o = 0;
  for (let i = 0; i < body.length; i++) {
    const code = body.charCodeAt(i);
    const v = code < 128 ? values[code] : -1;
    if (v < 0) return undefined;
    value = ((value << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (value >> bits) & 0xff;
    }
  }
  if ((value & ((1 << bits) - 1)) !== 0) return undefined; // spare bits set
  return out;
}

/** The entries of a secrets text: whitespace- or comma-separated. */
export function parseSecrets(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}

/**
 * The key bytes of `whsec_` + base64 secrets. Anything else — no prefix, quotes, hex, characters
 * after the base64, a key outside 24–64 bytes — is refused by position, never echoed: a secret that
 * decodes to the wrong key would reject every delivery.
 */
export function secretKeyBytes(secrets: readonly string[]): Uint8Array[] {
  if (secrets.length === 0) throw new TypeError("at least one signing secret is required");
  return secrets.map((secret, i) => {
    const at = `entry #${i + 1} of ${secrets.length}`;
    const encoded = secret.startsWith("whsec_") ? secret.slice(6) : undefined;
    // Hex is valid base64 text, but a hex secret decoded as base64 is a different key: refuse it by name.
    if (encoded !== undefined && /^[0-9a-fA-F]{32,}$/.test(encoded)) {
      throw new TypeError(`${at} is hex after whsec_; a signing secret is whsec_ followed by base64 (as the API returns it)`);
    }
    const key = encoded === undefined ? undefined : decodeCanonicalBase64(encoded);
    if (!key || key.length === 0) throw new TypeError(`${at} is not a secret of the form whsec_<base64> (check for quotes, a missing prefix or extra characters)`);
    if (key.length < 24 || key.length > 64) throw new TypeError(`${at} decodes to ${key.length} bytes; a signing secret has 24 to 64`);
    return key;
  });
}

/** The most `v1,` signatures of one header looked at (a sender sends one per valid secret). */
export const MAX_SIGNATURES = 16;

/**
 * The `v1,` signatures of a `webhook-signature` header, as bytes: each must be the canonical base64
 * of 32 bytes (43 characters and one `=`, no spare bits); other schemes (v1a) are not ours to check.
 * None at all is refused. No regular expression and no split for the usual single signature: this
 * runs on every delivery, before any key is touched.
 */
export function v1Signatures(header: string): Uint8Array[] {
  const signatures: Uint8Array[] = [];
  let start = 0;
  for (let seen = 0; seen < MAX_SIGNATURES && start <= header.length; seen++) {
    let end = header.indexOf(" ", start);
    if (end < 0) end = header.length;
    if (end - start === 47 && header.startsWith("v1,", start)) {
      const bytes = decodeSignature(header, start + 3);
      if (bytes) signatures.push(bytes);
    }
    start = end + 1;
  }
  if (signatures.length === 0) throw new WebhookVerificationError("invalid_signature", "no v1 signature in webhook-signature");
  return signatures;
}

function b64Value(text: string, i: number): number {
  const code = text.charCodeAt(i);
  return code < 128 ? B64_VALUES[code] : -1;
}

/** The 32 bytes of the canonical base64 at `text[at..at+44)`, or undefined (decodeCanonicalBase64 for this one length). */
function decodeSignature(text: string, at: number): Uint8Array | undefined {
  if (text.charCodeAt(at + 43) !== 61 /* = */) return undefined;
  const out = new Uint8Array(32);
  let o = 0;
  for (let i = at; i < at + 40; i += 4) {
    const a = b64Value(text, i), b = b64Value(text, i + 1), c = b64Value(text, i + 2), d = b64Value(text, i + 3);
    if ((a | b | c | d) < 0) return undefined;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >> 16;
    out[o++] = (n >> 8) & 0xff;
    out[o++] = n & 0xff;
  }
  const a = b64Value(text, at + 40), b = b64Value(text, at + 41), c = b64Value(text, at + 42);
  if ((a | b | c) < 0 || (c & 3) !== 0) return undefined; // the last character's 2 spare bits must be 0
  const n = (a << 12) | (b << 6) | c;
  out[30] = n >> 10;
  out[31] = (n >> 2) & 0xff;
  return out;
}

/** What the HMAC covers: `{id}.{timestamp}.` followed by the exact body bytes (text: its UTF-8). */
export function signedContent(webhookId: string, timestamp: number, body: Uint8Array | string): Uint8Array {
  if (typeof body === "string") return encoder.encode(`${webhookId}.${timestamp}.${body}`);
  const prefix = encoder.encode(`${webhookId}.${timestamp}.`);
  const content = new Uint8Array(prefix.length + body.length);
  content.set(prefix);
  content.set(body, prefix.length);
  return content;
}

/** A body as bytes (text as UTF-8). */
export function bodyBytes(body: Uint8Array | string): Uint8Array {
  return typeof body === "string" ? encoder.encode(body) : body;
}

/** The three parts of a JWT, each canonical base64url; returns the signature part (its text is its bytes). */
export function canonicalJwtSignature(token: string): string {
  if (token.length > 8192) throw new WebhookVerificationError("malformed", "webhook-signature is not a JWT");
  const parts = token.split(".");
  if (parts.length !== 3) throw new WebhookVerificationError("malformed", "webhook-signature is not a JWT");
  for (const part of parts) {
    if (!/^[A-Za-z0-9_-]+$/.test(part)) throw new WebhookVerificationError("malformed", "webhook-signature is not canonical base64url (characters outside the alphabet, or padding)");
    if (!decodeCanonicalBase64(part, true)) throw new WebhookVerificationError("malformed", "webhook-signature is not canonical base64url (spare bits set)");
  }
  return parts[2];
}

/** SHA-256 as base64url, on Web Crypto (every runtime this code runs on has `crypto.subtle`). */
export async function sha256Base64url(data: Uint8Array | string): Promise<string> {
  const bytes = bodyBytes(data);
  return encodeBase64(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>)), true);
}

/** The envelope of a verified body: a JSON object with a string `type`; anything else is malformed. */
export function parseEnvelope(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new WebhookVerificationError("malformed", "body is not JSON");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed) || typeof (parsed as { type?: unknown }).type !== "string") {
    throw new WebhookVerificationError("malformed", "body is not a webhook envelope");
  }
  return parsed as Record<string, unknown>;
}
