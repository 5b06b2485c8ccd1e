/**
 * Conformance vectors for the verifier: deliveries as a sender (or an attacker) sends them, each
 * with the outcome the receiver's rules give — valid, each tamper, a rotation with two secrets, stale
 * and future timestamps, every non-canonical spelling, and the dynamic token's cases. Built fresh
 * (timestamps now) for one endpoint URL (the tokens' audience).
 */
import { createHmac, KeyObject } from "node:crypto";
import type { webcrypto } from "node:crypto";
import { SignJWT } from "jose";
import type { VerificationReason } from "gemini-webhooks-receiver";

export interface Vector {
  name: string;
  kind: "static" | "dynamic";
  body: string;
  headers: Record<string, string>;
  expect: "ok" | VerificationReason;
}

const now = () => Math.floor(Date.now() / 1000);
const envelope = (id: string) => JSON.stringify({ type: "batch.succeeded", version: "v1", timestamp: new Date().toISOString(), data: { id: `batches/${id}` } });

export function sign(secret: string, id: string, timestamp: number, body: string): string {
  return createHmac("sha256", Buffer.from(secret.slice(6), "base64")).update(`${id}.${timestamp}.${body}`).digest("base64");
}

/** The same bytes spelled differently: the last character's spare bits set (lenient decoders ignore them). */
export function respell(encoded: string, url = false): string {
  const alphabet = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const body = encoded.replace(/=+$/, "");
  const padding = encoded.slice(body.length);
  const last = alphabet.indexOf(body[body.length - 1]);
  return body.slice(0, -1) + alphabet[last | 1] + padding;
}

export function staticVectors(secretA: string, secretB: string, unknown: string): Vector[] {
  const v = (name: string, expect: Vector["expect"], make: (id: string) => { body?: string; headers: Record<string, string> }): Vector => {
    const id = `msg_${name.replace(/\W+/g, "_")}_${Math.random().toString(36).slice(2, 8)}`;
    const made = make(id);
    return { name, kind: "static", expect, body: made.body ?? envelope(id), headers: { "content-type": "application/json", ...made.headers } };
  };
  const signed = (id: string, secret = secretA, ts = now(), body = envelope(id)) => ({ body, headers: { "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": `v1,${sign(secret, id, ts, body)}` } });
  return [
    v("valid", "ok", (id) => signed(id)),
    v("signed with the second secret of a rotation", "ok", (id) => signed(id, secretB)),
    v("one good signature among several", "ok", (id) => {
      const s = signed(id);
      return { ...s, headers: { ...s.headers, "webhook-signature": `v1,${sign(unknown, id, now(), s.body)} v1a,whatever ${s.headers["webhook-signature"]}` } };
    }),
    v("body tampered", "invalid_signature", (id) => {
      const s = signed(id);
      return { ...s, body: s.body.replace("batches/", "batches/x") };
    }),
    v("id swapped", "invalid_signature", (id) => {
      const s = signed(id);
      return { ...s, headers: { ...s.headers, "webhook-id": `${id}x` } };
    }),
    v("timestamp moved within the window", "invalid_signature", (id) => {
      const s = signed(id);
      return { ...s, headers: { ...s.headers, "webhook-timestamp": String(Number(s.headers["webhook-timestamp"]) - 1) } };
    }),
    v("stale timestamp", "stale_timestamp", (id) => signed(id, secretA, now() - 600)),
    v("future timestamp", "stale_timestamp", (id) => signed(id, secretA, now() + 600)),
    v("unknown secret", "invalid_signature", (id) => signed(id, unknown)),
    v("non-canonical base64 (spare bits)", "invalid_signature", (id) => {
      const s = signed(id);
      return { ...s, headers: { ...s.headers, "webhook-signature": `v1,${respell(s.headers["webhook-signature"].slice(3))}` } };
    }),
    v("base64url alphabet", "invalid_signature", (id) => {
      const s = signed(id);
      return { ...s, headers: { ...s.headers, "webhook-signature": s.headers["webhook-signature"].replace(/\+/g, "-").replace(/\//g, "_").replace(/^v1,(.*)$/, (_m, b: string) => (/[-_]/.test(b) ? `v1,${b}` : `v1,${b.slice(0, -2)}_=`)) } };
    }),
    v("only a v1a signature", "invalid_signature", (id) => {
      const s = signed(id);
      return { ...s, headers: { ...s.headers, "webhook-signature": s.headers["webhook-signature"].replace(/^v1,/, "v1a,") } };
    }),
    v("no webhook-id", "malformed", (id) => {
      const s = signed(id);
      const { "webhook-id": _dropped, ...headers } = s.headers;
      return { ...s, headers };
    }),
    v("timestamp in exponent notation", "malformed", (id) => {
      const s = signed(id);
      return { ...s, headers: { ...s.headers, "webhook-timestamp": "1.7e9" } };
    }),
    v("a signed body that is not JSON", "malformed", (id) => signed(id, secretA, now(), "not json")),
    v("a signed JSON body that is not an envelope", "malformed", (id) => signed(id, secretA, now(), "[1,2]")),
  ];
}

export interface DynamicKeys {
  privateKey: KeyObject | webcrypto.CryptoKey;
  kid: string;
  /** A key the JWKS does not publish. */
  stranger: KeyObject | webcrypto.CryptoKey;
  issuer: string;
}

export async function dynamicVectors(keys: DynamicKeys, audience: string): Promise<Vector[]> {
  const bodyHash = (body: string) => createHashBase64url(body);
  const token = async (id: string, body: string, change: { claims?: Record<string, unknown>; key?: KeyObject | webcrypto.CryptoKey; kid?: string; alg?: string; iat?: number; exp?: number } = {}) => {
    const iat = change.iat ?? now();
    const claims = { webhook_id: id, body_sha256: bodyHash(body), ...change.claims };
    const jwt = new SignJWT(Object.fromEntries(Object.entries(claims).filter(([, value]) => value !== undefined)))
      .setProtectedHeader({ alg: change.alg ?? "RS256", kid: change.kid ?? keys.kid })
      .setIssuer((change.claims?.iss as string) ?? keys.issuer)
      .setAudience((change.claims?.aud as string) ?? audience)
      .setIssuedAt(iat)
      .setExpirationTime(change.exp ?? iat + 300);
    return jwt.sign(change.key ?? keys.privateKey);
  };
  const v = async (name: string, expect: Vector["expect"], make: (id: string, body: string) => Promise<{ body?: string; token: string; id?: string }>): Promise<Vector> => {
    const id = `msg_dyn_${name.replace(/\W+/g, "_")}_${Math.random().toString(36).slice(2, 8)}`;
    const body = envelope(id);
    const made = await make(id, body);
    return { name: `dynamic: ${name}`, kind: "dynamic", expect, body: made.body ?? body, headers: { "content-type": "application/json", "webhook-id": made.id ?? id, "webhook-timestamp": String(now()), "webhook-signature": made.token } };
  };
  return Promise.all([
    v("valid", "ok", async (id, body) => ({ token: await token(id, body) })),
    v("body tampered", "unauthorized_jwt", async (id, body) => ({ token: await token(id, body), body: body.replace("batches/", "batches/x") })),
    v("another audience", "unauthorized_jwt", async (id, body) => ({ token: await token(id, body, { claims: { aud: "https://elsewhere.example/hook" } }) })),
    v("another issuer", "unauthorized_jwt", async (id, body) => ({ token: await token(id, body, { claims: { iss: "https://evil.example" } }) })),
    v("expired", "unauthorized_jwt", async (id, body) => ({ token: await token(id, body, { iat: now() - 400, exp: now() - 100 }) })),
    v("issued too long ago", "unauthorized_jwt", async (id, body) => ({ token: await token(id, body, { iat: now() - 1200, exp: now() + 600 }) })),
    v("lives too long", "unauthorized_jwt", async (id, body) => ({ token: await token(id, body, { exp: now() + 7200 }) })),
    v("signed by a key the JWKS does not publish", "unauthorized_jwt", async (id, body) => ({ token: await token(id, body, { key: keys.stranger }) })),
    v("HS256 with the public key's bytes as a secret", "unauthorized_jwt", async (id, body) => ({ token: await token(id, body, { alg: "HS256", key: new TextEncoder().encode("x".repeat(64)) as unknown as webcrypto.CryptoKey }) })),
    v("no body hash", "unauthorized_jwt", async (id, body) => ({ token: await token(id, body, { claims: { body_sha256: undefined } }) })),
    v("webhook_id claim of another delivery", "unauthorized_jwt", async (id, body) => ({ token: await token(`${id}x`, body) })),
    v("signature padded", "malformed", async (id, body) => ({ token: (await token(id, body)) + "=" })),
    v("signature re-spelled (spare bits)", "malformed", async (id, body) => {
      const [h, p, s] = (await token(id, body)).split(".");
      return { token: `${h}.${p}.${respell(s, true)}` };
    }),
  ]);
}

/** A valid dynamic delivery whose token carries no `webhook_id` claim: the id header is then the sender's to choose. */
export async function unboundToken(keys: DynamicKeys, audience: string): Promise<Vector> {
  const id = `msg_unbound_${Math.random().toString(36).slice(2, 8)}`;
  const body = envelope(id);
  const token = await new SignJWT({ body_sha256: createHashBase64url(body) })
    .setProtectedHeader({ alg: "RS256", kid: keys.kid })
    .setIssuer(keys.issuer)
    .setAudience(audience)
    .setIssuedAt(now())
    .setExpirationTime(now() + 300)
    .sign(keys.privateKey);
  return { name: "dynamic: no webhook_id claim", kind: "dynamic", expect: "ok", body, headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(now()), "webhook-signature": token } };
}

function createHashBase64url(text: string): string {
   
  return (require("node:crypto") as typeof import("node:crypto")).createHash("sha256").update(text).digest("base64url");
}
