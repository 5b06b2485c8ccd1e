/**
 * `gemini-webhooks-receiver/web` as a package users import (CommonJS and the ES module), and what the
 * runtime suite does not reach: the module holds no `node:` import; a body over the cap is refused
 * before it is buffered; a JWKS that redirects is not followed; a bad secret is refused by position,
 * never echoed; the in-memory dedup store stays within its bound.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { once } from "node:events";
import { createServer } from "node:http";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import * as web from "gemini-webhooks-receiver/web";
import { REPO_ROOT } from "../../scripts/paths";

const secret = "whsec_" + randomBytes(32).toString("base64");
const BUNDLE = join(REPO_ROOT, "receiver", "dist", "web", "web.mjs");

function signed(id: string, body: string) {
  const ts = Math.floor(Date.now() / 1000);
  const signature = "v1," + createHmac("sha256", Buffer.from(secret.slice(6), "base64")).update(`${id}.${ts}.${body}`).digest("base64");
  return { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": signature };
}

test("the ES module imports nothing from node: and is small; CommonJS and ESM expose the same API", async () => {
  const text = readFileSync(BUNDLE, "utf8");
  assert.doesNotMatch(text, /["']node:|require\(/, "no Node built-in in the portable module");
  console.log(`gemini-webhooks-receiver/web: ${text.length} bytes minified, ${gzipSync(text).length} gzip`);
  const body = '{"type":"batch.succeeded","data":{}}';
  // The package's `import` condition, as an ES module project resolves it (a child Node: Jest runs CommonJS).
  const script = `import * as m from "gemini-webhooks-receiver/web"; const body = ${JSON.stringify(body)};
    const e = await new m.WebhookVerifier({ secrets: process.env.S }).verify(body, JSON.parse(process.env.H));
    console.log(JSON.stringify({ keys: Object.keys(m).sort(), event: [e.kind, e.webhookId, e.type, e.body], url: import.meta.resolve("gemini-webhooks-receiver/web") }));`;
  const out = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: REPO_ROOT, encoding: "utf8", env: { ...process.env, S: secret, H: JSON.stringify(signed("msg_esm", body)) } })) as { keys: string[]; event: string[]; url: string };
  assert.match(out.url, /receiver\/dist\/web\/web\.mjs$/, "import resolves to the ES module");
  assert.deepEqual(out.keys, Object.keys(web).filter((k) => k !== "__esModule" && k !== "default").sort());
  assert.deepEqual(out.event, ["static", "msg_esm", "batch.succeeded", body]);
  const event = await new web.WebhookVerifier({ secrets: secret }).verify(body, signed("msg_cjs", body));
  assert.deepEqual([event.kind, event.webhookId, event.type, event.body], ["static", "msg_cjs", "batch.succeeded", body]);
});

test("a body over maxBodyBytes is refused as too_large before it is buffered, with or without content-length", async () => {
  const verifier = new web.WebhookVerifier({ secrets: secret, maxBodyBytes: 1024 });
  let pulled = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      pulled++;
      controller.enqueue(new Uint8Array(512));
      if (pulled > 1000) controller.close();
    },
  });
  const request = new Request("http://x/hook", { method: "POST", headers: { "content-type": "application/json" }, body: stream, duplex: "half" } as RequestInit);
  await assert.rejects(verifier.verifyRequest(request), (err: web.WebhookVerificationError) => err.reason === "too_large");
  assert.ok(pulled < 10, `read ${pulled} chunks of a stream over the cap`);
  const declared = new Request("http://x/hook", { method: "POST", headers: { "content-type": "application/json", "content-length": "4096" }, body: "x".repeat(4096) });
  await assert.rejects(verifier.verifyRequest(declared), (err: web.WebhookVerificationError) => err.reason === "too_large");
  assert.equal(web.statusFor(new web.WebhookVerificationError("too_large", "x")), 413);
});

test("a JWKS that redirects is not followed: jwks_unavailable (503, the sender retries)", async () => {
  const target = createServer((_q, res) => void res.writeHead(200, { "content-type": "application/json" }).end('{"keys":[]}'));
  let targetHits = 0;
  target.on("request", () => targetHits++);
  target.listen(0, "127.0.0.1");
  await once(target, "listening");
  const redirecting = createServer((_q, res) => void res.writeHead(302, { location: `http://127.0.0.1:${(target.address() as { port: number }).port}/jwks` }).end());
  redirecting.listen(0, "127.0.0.1");
  await once(redirecting, "listening");
  try {
    const verifier = new web.WebhookVerifier({ dynamic: { jwksUri: `http://127.0.0.1:${(redirecting.address() as { port: number }).port}/jwks`, issuer: "https://i", audience: "https://a" } });
    const token = ["eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ", "eyJpc3MiOiJodHRwczovL2kifQ", "c2ln"].join(".");
    const body = '{"type":"batch.succeeded"}';
    const headers = { ...signed("msg_redirect", body), "webhook-signature": token };
    await assert.rejects(verifier.verify(body, headers), (err: web.WebhookVerificationError) => err.reason === "jwks_unavailable" && /302/.test(err.detail));
    assert.equal(targetHits, 0, "the redirect's target was never asked");
  } finally {
    target.close();
    redirecting.close();
  }
});

test("a malformed secret is refused by its position, never echoed; MemoryDedup stays within its bound", async () => {
  for (const bad of ["whsec_not base64", "whsec_" + "ab".repeat(32), "sk_live_123", `"${secret}"`]) {
    assert.throws(() => new web.WebhookVerifier({ secrets: [secret, bad] }), (err: Error) => /entry #2 of 2/.test(err.message) && !err.message.includes(bad.slice(6, 14)));
  }
  assert.throws(() => new web.WebhookVerifier({}), /needs secrets/);
  const dedup = new web.MemoryDedup(100);
  for (let i = 0; i < 1000; i++) assert.equal(await dedup.claim(`k${i}`, 60), true);
  assert.equal(await dedup.claim("k999", 60), false, "a recent key is remembered");
  assert.equal(await dedup.claim("k0", 60), true, "the oldest were forgotten past the bound");
});
