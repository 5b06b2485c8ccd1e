/**
 * Adversarial: 200+ crafted requests against the receiver over real sockets — forged, truncated and
 * extra signatures, wrong secrets, stale and future timestamps, replays, missing, repeated and
 * array headers, invalid UTF-8, oversized and slowly sent bodies, wrong content types, and JWT
 * attacks (alg none, HS256 with the public key, wrong aud/iss, expired, no exp, unknown-kid floods,
 * body hash mismatch). Expected: 0 accepted, 0 5xx, no crash, JWKS fetched at the cooldown rate.
 * Set GEMINI_ADVERSARIAL_LONG=1 for ten times the rounds.
 */
import assert from "node:assert/strict";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { createServer, Server } from "node:http";
import fc from "fast-check";
import { exportJWK, generateKeyPair, KeyLike, SignJWT, UnsecuredJWT } from "jose";
import { buildEmulatorApp } from "gemini-webhooks-emulator";
import { buildReceiver, loadConfig, Receiver } from "gemini-webhooks-receiver";
import { freePort } from "../../scripts/free-port";
import { inject } from "../support/inject";
import { rawRequest } from "../support/raw-http";

const ROUNDS = process.env.GEMINI_ADVERSARIAL_LONG === "1" ? 10 : 1;
const secret = "whsec_" + randomBytes(32).toString("base64");
const key = Buffer.from(secret.slice(6), "base64");

let receiver: Receiver;
let base = "";
let jwks: Server;
let jwksFetches = 0;
let privateKey: KeyLike;
let publicJwk: Record<string, unknown>;
let issuer = "";
const processed: string[] = [];
const outcomes = { accepted: 0, duplicate: 0, status: new Map<number, number>(), crafted: 0 };

beforeAll(async () => {
  const pair = await generateKeyPair("RS256", { extractable: true });
  privateKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: "good-kid", alg: "RS256", use: "sig" };
  jwks = createServer((req, res) => {
    jwksFetches++;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ keys: [publicJwk] }));
  });
  await new Promise<void>((r) => jwks.listen(0, "127.0.0.1", r));
  issuer = `http://127.0.0.1:${(jwks.address() as { port: number }).port}`;
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  receiver = buildReceiver(
    loadConfig({
      WEBHOOK_SIGNING_SECRETS: secret,
      JWKS_URI: `${issuer}/jwks.json`,
      JWT_ISSUER: issuer,
      JWT_AUDIENCE: `${base}/webhooks/gemini/dynamic`,
      MAX_BODY_BYTES: "65536",
      LOG_LEVEL: "silent",
    }),
    { handler: async (e) => void processed.push(e.webhookId), requestTimeoutMs: 1_500 },
  );
  await receiver.app.listen({ port, host: "127.0.0.1" });
});

afterAll(async () => {
  await receiver?.close();
  await new Promise((r) => jwks?.close(r));
});

const body = () => JSON.stringify({ type: "batch.succeeded", version: "v1", timestamp: new Date().toISOString(), data: { id: "batches/" + randomBytes(4).toString("hex") } });
const now = () => Math.floor(Date.now() / 1000);
const sign = (id: string, ts: number, payload: string | Buffer, k: Buffer = key) =>
  "v1," + createHmac("sha256", k).update(`${id}.${ts}.`).update(payload).digest("base64");

async function send(path: string, headers: Record<string, string>, payload: string | Buffer): Promise<number> {
  const response = await fetch(base + path, { method: "POST", headers, body: payload });
  const text = await response.text();
  record(response.status, text);
  return response.status;
}

function record(status: number, text: string): void {
  outcomes.crafted++;
  outcomes.status.set(status, (outcomes.status.get(status) ?? 0) + 1);
  if (text.includes('"accepted"')) outcomes.accepted++;
  if (text.includes('"duplicate"')) outcomes.duplicate++;
}

/** A raw HTTP/1.1 request, for what fetch will not send (repeated headers, slow or unfinished bodies). */
async function raw(lines: string[], payload: Buffer, options: { dripMs?: number; stopAfter?: number } = {}): Promise<number> {
  const answer = await rawRequest(Number(new URL(base).port), lines, payload, options);
  record(answer.status, answer.body);
  return answer.status;
}

function staticHeaders(id: string, ts: number, signature: string, contentType = "application/json"): Record<string, string> {
  return { "content-type": contentType, "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": signature };
}

test("200+ crafted static and dynamic requests: 0 accepted, 0 5xx, no crash, JWKS fetched at the cooldown rate", async () => {
  // Sanity: one genuine delivery of each kind is accepted (not counted as crafted).
  const genuineId = "msg_genuine";
  const genuineBody = body();
  const genuineTs = now();
  const genuine = await fetch(`${base}/webhooks/gemini`, { method: "POST", headers: staticHeaders(genuineId, genuineTs, sign(genuineId, genuineTs, genuineBody)), body: genuineBody });
  assert.deepEqual(await genuine.json(), { status: "accepted" });
  const dynBody = body();
  const goodToken = await new SignJWT({ webhook_id: "msg_dyn", body_sha256: createHash("sha256").update(dynBody).digest("base64url") })
    .setProtectedHeader({ alg: "RS256", kid: "good-kid" }).setIssuer(issuer).setAudience(`${base}/webhooks/gemini/dynamic`).setIssuedAt().setExpirationTime("5m").sign(privateKey);
  const dynOk = await fetch(`${base}/webhooks/gemini/dynamic`, { method: "POST", headers: { "content-type": "application/json", "webhook-id": "msg_dyn", "webhook-timestamp": String(now()), "webhook-signature": goodToken }, body: dynBody });
  assert.deepEqual(await dynOk.json(), { status: "accepted" });
  const fetchesAfterWarmup = jwksFetches;

  for (let round = 0; round < ROUNDS; round++) {
    const wrongKey = randomBytes(32);
    for (let i = 0; i < 20; i++) {
      const id = `msg_f${round}_${i}`;
      const ts = now();
      const p = body();
      await send("/webhooks/gemini", staticHeaders(id, ts, "v1," + randomBytes(32).toString("base64")), p); // forged
      await send("/webhooks/gemini", staticHeaders(id, ts, sign(id, ts, p, wrongKey)), p); // wrong secret
      await send("/webhooks/gemini", staticHeaders(id, ts, sign(id, ts, p).slice(0, 20 + i)), p); // truncated
      await send("/webhooks/gemini", staticHeaders(id, ts, `v1,${randomBytes(32).toString("base64")} v2,${randomBytes(32).toString("base64")} garbage`), p); // extra, none valid
      await send("/webhooks/gemini", staticHeaders(id, ts, sign(id, ts, p)), p + " "); // body tampered
      await send("/webhooks/gemini", staticHeaders(id + "x", ts, sign(id, ts, p)), p); // id tampered
      await send("/webhooks/gemini", staticHeaders(genuineId, genuineTs, sign(genuineId, genuineTs, genuineBody)), genuineBody); // replay
    }
    for (const skew of [-301, -600, -3600, -86400, 301, 600, 86400, 10 ** 9]) {
      const id = `msg_t${round}_${skew}`;
      const p = body();
      await send("/webhooks/gemini", staticHeaders(id, now() + skew, sign(id, now() + skew, p)), p); // stale / future, correctly signed
    }
    for (const bad of ["", "abc", "1e9", "-5", "12345678901234567890", " 1"]) {
      await send("/webhooks/gemini", { "content-type": "application/json", "webhook-id": "msg_ts", "webhook-timestamp": bad, "webhook-signature": sign("msg_ts", now(), "{}") }, "{}");
    }
    for (const missing of ["webhook-id", "webhook-timestamp", "webhook-signature"]) {
      const id = `msg_m${round}`;
      const ts = now();
      const headers = staticHeaders(id, ts, sign(id, ts, "{}"));
      delete headers[missing];
      await send("/webhooks/gemini", headers, "{}");
    }
    for (const contentType of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/xml", "application/jsonp"]) {
      const id = `msg_ct${round}${contentType.length}`;
      const ts = now();
      const p = body();
      await send("/webhooks/gemini", staticHeaders(id, ts, sign(id, ts, p), contentType), p);
    }
    // Invalid UTF-8 bodies, unsigned or signed with another key.
    for (let i = 0; i < 10; i++) {
      const p = Buffer.concat([Buffer.from('{"type":"'), randomBytes(16), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from('"}')]);
      const ts = now();
      await send("/webhooks/gemini", staticHeaders(`msg_u${round}_${i}`, ts, i % 2 ? sign(`msg_u${round}_${i}`, ts, p, wrongKey) : "v1,AAAA"), p);
    }
    // Repeated headers (one of them the genuine signature of a fresh delivery) via a raw socket.
    for (let i = 0; i < 10; i++) {
      const id = `msg_d${round}_${i}`;
      const ts = now();
      const p = Buffer.from(body());
      const good = sign(id, ts, p);
      const which = ["webhook-id", "webhook-timestamp", "webhook-signature"][i % 3];
      const lines = ["POST /webhooks/gemini HTTP/1.1", "host: x", "content-type: application/json", `webhook-id: ${id}`, `webhook-timestamp: ${ts}`, `webhook-signature: ${good}`];
      lines.push(`${which}: ${which === "webhook-id" ? id + "2" : which === "webhook-timestamp" ? ts - 1 : "v1," + randomBytes(32).toString("base64")}`);
      const status = await raw(lines, p);
      assert.equal(status, 400, `repeated ${which} must be malformed`);
    }
    // Oversized bodies.
    for (const size of [65537, 200_000, 2_000_000]) {
      const p = Buffer.alloc(size, 0x20);
      const ts = now();
      const status = await raw(["POST /webhooks/gemini HTTP/1.1", "host: x", "content-type: application/json", `webhook-id: msg_big${size}`, `webhook-timestamp: ${ts}`, `webhook-signature: ${sign(`msg_big${size}`, ts, p)}`], p);
      assert.ok(status === 413 || status === 0, `oversized body answered ${status}`);
    }
    // Slowly sent and never finished bodies: cut off by the request timeout.
    await Promise.all(
      [0, 1, 2].map((i) => {
        const p = Buffer.from(body());
        const ts = now();
        return raw(["POST /webhooks/gemini HTTP/1.1", "host: x", "content-type: application/json", `webhook-id: msg_slow${i}`, `webhook-timestamp: ${ts}`, `webhook-signature: ${sign(`msg_slow${i}`, ts, p)}`], p, { dripMs: 200, stopAfter: 5 + i });
      }),
    );

    // JWT attacks on the dynamic endpoint.
    const aud = `${base}/webhooks/gemini/dynamic`;
    const dyn = async (token: string, id: string, payload = body()) =>
      send("/webhooks/gemini/dynamic", { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(now()), "webhook-signature": token }, payload);
    const claims = (p: string, id: string) => ({ webhook_id: id, body_sha256: createHash("sha256").update(p).digest("base64url") });
    for (let i = 0; i < 5; i++) {
      const p = body();
      const id = `msg_j${round}_${i}`;
      await dyn(new UnsecuredJWT(claims(p, id)).setIssuer(issuer).setAudience(aud).setIssuedAt().setExpirationTime("5m").encode(), id, p); // alg none
      const hsKey = new TextEncoder().encode(JSON.stringify(publicJwk));
      await dyn(await new SignJWT(claims(p, id)).setProtectedHeader({ alg: "HS256", kid: "good-kid" }).setIssuer(issuer).setAudience(aud).setIssuedAt().setExpirationTime("5m").sign(hsKey), id, p); // key confusion
      const rs = (c: Record<string, unknown>) => new SignJWT(c).setProtectedHeader({ alg: "RS256", kid: "good-kid" });
      await dyn(await rs(claims(p, id)).setIssuer(issuer).setAudience("https://attacker.example/hook").setIssuedAt().setExpirationTime("5m").sign(privateKey), id, p); // wrong aud
      await dyn(await rs(claims(p, id)).setIssuer("https://evil.example").setAudience(aud).setIssuedAt().setExpirationTime("5m").sign(privateKey), id, p); // wrong iss
      await dyn(await rs(claims(p, id)).setIssuer(issuer).setAudience(aud).setIssuedAt(now() - 3600).setExpirationTime(now() - 600).sign(privateKey), id, p); // expired
      await dyn(await rs(claims(p, id)).setIssuer(issuer).setAudience(aud).setIssuedAt().sign(privateKey), id, p); // no exp
      await dyn(await rs(claims(p, id)).setIssuer(issuer).setAudience(aud).setIssuedAt().setExpirationTime("5m").sign(privateKey), id, p + " "); // body mismatch
      await dyn(await rs(claims(p, "msg_other")).setIssuer(issuer).setAudience(aud).setIssuedAt().setExpirationTime("5m").sign(privateKey), id, p); // webhook_id mismatch
      await dyn(await rs({ webhook_id: id }).setIssuer(issuer).setAudience(aud).setIssuedAt().setExpirationTime("5m").sign(privateKey), id, p); // no body hash
      await dyn("not.a.jwt", id, p);
    }
    // Unknown-kid flood: well-formed tokens from a key the JWKS does not hold.
    const stranger = (await generateKeyPair("RS256")).privateKey;
    await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const p = body();
        const id = `msg_k${round}_${i}`;
        const token = await new SignJWT(claims(p, id)).setProtectedHeader({ alg: "RS256", kid: `kid-${randomBytes(6).toString("hex")}` }).setIssuer(issuer).setAudience(aud).setIssuedAt().setExpirationTime("5m").sign(stranger);
        await dyn(token, id, p);
      }),
    );
  }

  const fiveXX = [...outcomes.status].filter(([s]) => s >= 500).reduce((a, [, n]) => a + n, 0);
  console.log(`adversarial receiver: ${outcomes.crafted} crafted requests, statuses ${JSON.stringify(Object.fromEntries(outcomes.status))}, ${outcomes.duplicate} replays answered duplicate, JWKS fetched ${jwksFetches - fetchesAfterWarmup} time(s) during the attack`);
  assert.ok(outcomes.crafted >= 200, `only ${outcomes.crafted} crafted requests`);
  assert.equal(outcomes.accepted, 0, "a crafted request was accepted");
  assert.equal(fiveXX, 0, "a crafted request got a 5xx");
  assert.ok(jwksFetches - fetchesAfterWarmup <= 1 * ROUNDS, `JWKS fetched ${jwksFetches - fetchesAfterWarmup} times: the cooldown did not hold`);
  await receiver.idle();
  assert.deepEqual(processed.sort(), ["msg_dyn", "msg_genuine"], "only the genuine deliveries were processed");
  const health = await fetch(`${base}/healthz`);
  assert.equal(health.status, 200, "the receiver survived");
});

test("property: random JSON bodies to the emulator's create and update never crash it and never create from an invalid body", async () => {
  const { app, ctx } = buildEmulatorApp({ inMemory: true, apiKey: "k" });
  try {
    const created = await inject(app, { method: "POST", url: "/v1beta/webhooks", headers: { "x-goog-api-key": "k" }, payload: { uri: "http://127.0.0.1:1/x", subscribed_events: ["batch.failed"] } });
    const id = created.json().id as string;
    let before = ctx.store.countWebhooks();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.json(),
          fc.record({ uri: fc.oneof(fc.webUrl(), fc.string()), subscribed_events: fc.array(fc.oneof(fc.constantFrom("batch.succeeded", "BATCH.FAILED", "video.generated"), fc.string())), name: fc.oneof(fc.string(), fc.integer()) }, { requiredKeys: [] }),
          fc.dictionary(fc.string(), fc.jsonValue()),
        ),
        fc.constantFrom("POST /v1beta/webhooks", "PATCH", "ROTATE"),
        async (payload, route) => {
          const text = typeof payload === "string" ? payload : JSON.stringify(payload);
          const [method, url] =
            route === "PATCH" ? ["PATCH", `/v1beta/webhooks/${id}`] : route === "ROTATE" ? ["POST", `/v1beta/webhooks/${id}:rotateSigningSecret`] : ["POST", "/v1beta/webhooks"];
          const response = await inject(app, { method: method as "POST" | "PATCH", url, headers: { "x-goog-api-key": "k", "content-type": "application/json" }, payload: text });
          assert.ok(response.statusCode === 200 || response.statusCode === 400, `${route} answered ${response.statusCode}: ${response.body}`);
          if (response.statusCode === 400) assert.equal(response.json().error.status, "INVALID_ARGUMENT");
          const count = ctx.store.countWebhooks();
          if (route === "POST /v1beta/webhooks" && response.statusCode === 200) {
            assert.equal(count, before + 1);
            assert.ok(/^https?:\/\//.test(response.json().uri));
          } else {
            assert.equal(count, before, "a refused request changed the store");
          }
          before = count;
        },
      ),
      { numRuns: 300 * ROUNDS },
    );
  } finally {
    await app.close();
  }
});
