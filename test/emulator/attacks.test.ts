/**
 * Adversarial: the emulator as an attacker meets it, over raw sockets — request targets in every
 * encoding and form that reach a protected route (percent-encoded, double-encoded, absolute-form,
 * dot segments, doubled slashes, case), without a key or with a wrong one; the admin API from a web
 * page (foreign Origin, text/plain); deep and oversized JSON; delivery targets that resolve off
 * loopback. Expected: 0 wrongly accepted, 0 5xx, the emulator's state untouched.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, Server } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { startEmulator, RunningEmulator, Resolver } from "gemini-webhooks-emulator";
import { closeAllPools, WebhooksClient } from "gemini-webhooks-client";
import { admin } from "../support/admin";
import { rawRequest } from "../support/raw-http";
import { waitFor } from "../../scripts/wait-for";

const KEY = "adversarial-key-0123456789";
const ROUNDS = process.env.GEMINI_ADVERSARIAL_LONG === "1" ? 10 : 1;

let emulator: RunningEmulator;
let port = 0;
let webhookId = "";
let secretBefore = "";
let kidBefore = "";
const tried = new Set<string>();
const tally = { requests: 0, wronglyAccepted: 0, fiveXX: 0, statuses: new Map<number, number>() };

beforeAll(async () => {
  emulator = await startEmulator({ inMemory: true, apiKey: KEY, jobCompletionDelayMs: 0 });
  port = Number(new URL(emulator.url).port);
  const client = new WebhooksClient({ baseUrl: emulator.apiUrl, apiKey: KEY });
  const hook = await client.create({ name: "kept", uri: "http://127.0.0.1:9/never", subscribed_events: ["batch.succeeded"] });
  webhookId = hook.id;
  secretBefore = hook.new_signing_secret!;
  kidBefore = await currentKid();
});

afterAll(async () => {
  console.log(
    `adversarial emulator: ${tried.size} distinct inputs, ${tally.requests} requests, statuses ${JSON.stringify(Object.fromEntries(tally.statuses))}, ` +
      `${tally.wronglyAccepted} wrongly accepted, ${tally.fiveXX} 5xx`,
  );
  await emulator?.close();
  await closeAllPools();
});

function deliveriesMade(): number {
  return Object.values(emulator.ctx.deliveries.queue.counts()).reduce((a, b) => a + b, 0);
}

async function currentKid(): Promise<string> {
  const { keys } = (await (await fetch(`${emulator.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
  return keys.map((k) => k.kid).sort().join(",");
}

/** Sends one crafted request and records it; `accept` says whether a 2xx would be right. */
async function attack(method: string, target: string, headers: Record<string, string>, body = "", accept = false): Promise<number> {
  const head = [`${method} ${target} HTTP/1.1`, `host: 127.0.0.1:${port}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
  tried.add(createHash("sha256").update(JSON.stringify([method, target, headers, body])).digest("hex"));
  const { status } = await rawRequest(port, head, Buffer.from(body), { timeoutMs: 10_000 });
  tally.requests++;
  tally.statuses.set(status, (tally.statuses.get(status) ?? 0) + 1);
  if (!accept && status >= 200 && status < 300) tally.wronglyAccepted++;
  if (status >= 500 || status === 0) tally.fiveXX++;
  return status;
}

/** Request targets that a lenient router may map onto `path`. */
function targetForms(path: string): string[] {
  const forms = new Set<string>([path]);
  for (let i = 1; i < path.length; i++) {
    const c = path[i];
    if (c === "/" || c === ":") continue;
    const hex = c.charCodeAt(0).toString(16);
    forms.add(`${path.slice(0, i)}%${hex}${path.slice(i + 1)}`);
    forms.add(`${path.slice(0, i)}%${hex.toUpperCase()}${path.slice(i + 1)}`);
    forms.add(`${path.slice(0, i)}%25${hex}${path.slice(i + 1)}`); // double-encoded
  }
  const rest = path.slice(1);
  for (const form of [
    `//${rest}`,
    `/./${rest}`,
    `/x/../${rest}`,
    `/%2e/${rest}`,
    `${path}/`,
    `${path};x`,
    `${path}?`,
    `${path}?key=${KEY}`,
    `${path}#frag`,
    path.replace(/\/([^/]*)$/, "//$1"),
    `/${rest.replace("/", "%2F")}`,
    path.toUpperCase(),
    `http://127.0.0.1:${port}${path}`,
    `HTTP://127.0.0.1:${port}${path}`,
    `http://localhost:${port}${path}`,
    `http://evil.example${path}`,
    `http://127.0.0.1:${port}/%76${path.slice(2)}`,
  ]) {
    forms.add(form);
  }
  return [...forms];
}

const NO_KEY: Record<string, string>[] = [
  {},
  { "x-goog-api-key": "" },
  { "x-goog-api-key": "wrong-key" },
  { "x-goog-api-key": KEY.toUpperCase() },
  { "x-goog-api-key": KEY + " x" },
  { authorization: `Bearer ${KEY}` },
  { "x-goog-api-key": KEY.slice(0, -1) },
];

describe("API key", () => {
  test("no protected route answers 2xx without the key, whatever form the request target takes", async () => {
    const routes: [string, string, string][] = [
      ["GET", "/v1beta/webhooks", ""],
      ["POST", "/v1beta/webhooks", JSON.stringify({ uri: "http://127.0.0.1:9/pwned", subscribed_events: ["batch.failed"] })],
      ["GET", `/v1beta/webhooks/${webhookId}`, ""],
      ["PATCH", `/v1beta/webhooks/${webhookId}`, JSON.stringify({ name: "pwned" })],
      ["DELETE", `/v1beta/webhooks/${webhookId}`, ""],
      ["POST", `/v1beta/webhooks/${webhookId}:rotateSigningSecret`, "{}"],
      ["POST", `/v1beta/webhooks/${webhookId}:ping`, "{}"],
      ["POST", "/v1beta/models/gemini-3-flash-preview:batchGenerateContent", JSON.stringify({ batch: { inputConfig: { fileName: "f" }, webhookConfig: { uris: ["http://127.0.0.1:9/x"] } } })],
      ["POST", "/v1beta/interactions", JSON.stringify({ model: "m", input: "x", background: true })],
      ["POST", "/emulator/v1/events", JSON.stringify({ type: "batch.succeeded" })],
      ["PUT", "/emulator/v1/faults", JSON.stringify({ "*": { rate503: 1 } })],
      ["POST", "/emulator/v1/jwks:rotate", ""],
      ["GET", "/emulator/v1/deliveries", ""],
      ["GET", "/emulator/v1/stats", ""],
    ];
    for (let round = 0; round < ROUNDS; round++) {
      for (const [method, path, body] of routes) {
        const forms = targetForms(path);
        for (const [i, target] of forms.entries()) {
          // Every form without any key; a rotating sample of the wrong-key variants.
          await attack(method, target, { "content-type": "application/json" }, body);
          await attack(method, target, { "content-type": "application/json", ...NO_KEY[1 + ((i + round) % (NO_KEY.length - 1))] }, body);
        }
      }
    }
    // A positive control: the encoded form does reach the route, so the refusals above are the key check.
    assert.equal(await attack("GET", "/%761beta/webhooks", { "x-goog-api-key": KEY }, "", true), 200);
    assert.equal(await attack("GET", `http://127.0.0.1:${port}/v1beta/webhooks`, { "x-goog-api-key": KEY }, "", true), 200);
    assert.equal(await attack("POST", "/%761beta/webhooks", { "content-type": "application/json" }, routes[1][2]), 403);

    assert.equal(tally.wronglyAccepted, 0, "a protected route answered 2xx without the key");
    assert.equal(tally.fiveXX, 0, "a crafted request got a 5xx or no answer");
    const client = new WebhooksClient({ baseUrl: emulator.apiUrl, apiKey: KEY });
    const all = [];
    for await (const w of client.listAll()) all.push(w);
    assert.deepEqual(all.map((w) => [w.id, w.name]), [[webhookId, "kept"]], "the store changed");
    assert.equal(emulator.ctx.store.validSecrets(webhookId, emulator.ctx.clock.now()).map((s) => s.secret).join(), secretBefore, "the secret was rotated");
    assert.equal(deliveriesMade(), 0, "an event was emitted");
    assert.equal(await currentKid(), kidBefore, "the JWKS was rotated");
    // No fault was configured: 20 calls with the key all succeed.
    for (let i = 0; i < 20; i++) await client.get(webhookId);
    assert.ok(Object.values(emulator.ctx.faults.injected).every((n) => n === 0), "faults were configured");
  });

  test("property: random request targets and keys never reach a protected route without the key, and never get a 5xx", async () => {
    const before = emulator.ctx.store.countWebhooks();
    const segment = fc.oneof(
      fc.constantFrom("v1beta", "webhooks", "emulator", "v1", "events", "faults", "models", "interactions", webhookId, `${webhookId}:rotateSigningSecret`, "..", ".", ""),
      fc.string({ maxLength: 6 }),
    );
    const encode = (s: string, mask: number) =>
      [...s].map((c, i) => ((mask >> i % 30) & 1 ? "%" + c.charCodeAt(0).toString(16).padStart(2, "0") : encodeURIComponent(c) === c ? c : encodeURIComponent(c))).join("");
    await fc.assert(
      fc.asyncProperty(
        fc.array(segment, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 0, max: 2 ** 30 }),
        fc.constantFrom("GET", "POST", "PATCH", "DELETE", "PUT"),
        fc.constantFrom(...NO_KEY),
        async (segments, mask, method, keyHeaders) => {
          const target = "/" + segments.map((s) => encode(s, mask)).join("/");
          const status = await attack(method, target, { "content-type": "application/json", ...keyHeaders }, method === "GET" || method === "DELETE" ? "" : "{}");
          // Only the public routes may answer 2xx without a key.
          const publicRoute = /^\/(\.well-known\/jwks\.json|emulator\/v1\/healthz)$/.test(decodeURIComponent(target).replace(/\/+$/, ""));
          if (!publicRoute) assert.ok(status < 200 || status >= 300, `${method} ${target} answered ${status} without the key`);
          assert.ok(status > 0 && status < 500, `${method} ${target} answered ${status}`);
        },
      ),
      { numRuns: 300 * ROUNDS },
    );
    assert.equal(emulator.ctx.store.countWebhooks(), before);
  });

  test("with the key, random request targets and bodies never get a 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("/v1beta/webhooks", `/v1beta/webhooks/${webhookId}`, `/v1beta/webhooks/${webhookId}:ping`, "/v1beta/webhooks/nope:rotateSigningSecret", "/v1beta/models/m:batchGenerateContent", "/v1beta/interactions", "/v1beta/batches/x"),
        fc.constantFrom("GET", "POST", "PATCH", "DELETE", "PUT"),
        fc.oneof(fc.json({ maxDepth: 4 }), fc.string({ maxLength: 40 })),
        fc.constantFrom("", "?update_mask=name", "?page_size=-1", "?page_size=abc", "?page_token=%00", "?update_mask=uri,nope"),
        async (path, method, body, query) => {
          const status = await attack(method, path + query, { "content-type": "application/json", "x-goog-api-key": KEY }, body, true);
          assert.ok(status > 0 && status < 500, `${method} ${path}${query} answered ${status}`);
        },
      ),
      { numRuns: 200 * ROUNDS },
    );
  });
});

describe("admin API from a web page", () => {
  test("a foreign Origin or a text/plain body is refused, with or without the key; a script's JSON call works", async () => {
    const before = deliveriesMade();
    const events = JSON.stringify({ type: "batch.succeeded" });
    for (const origin of ["https://evil.example", "null", "http://localhost:3000", `http://127.0.0.1:${port}`]) {
      assert.equal(await attack("POST", "/emulator/v1/events", { origin, "content-type": "text/plain" }, events), 403);
      assert.equal(await attack("POST", "/emulator/v1/events", { origin, "content-type": "application/json", "x-goog-api-key": KEY }, events), 403);
      assert.equal(await attack("POST", "/emulator/v1/jwks:rotate", { origin, "x-goog-api-key": KEY }), 403);
    }
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""]) {
      const status = await attack("POST", "/emulator/v1/events", { "x-goog-api-key": KEY, ...(type ? { "content-type": type } : {}) }, events);
      assert.equal(status, 400, `content-type ${JSON.stringify(type)} answered ${status}`);
    }
    assert.equal(await attack("POST", "/emulator/v1/events", { "sec-fetch-site": "cross-site", "content-type": "application/json", "x-goog-api-key": KEY }, events), 403);
    assert.equal(deliveriesMade(), before, "a refused call emitted an event");
    assert.equal((await admin(emulator, "POST", "/events", { type: "video.generated" })).status, 200);
  });

  test("an emulator without --api-key still refuses browsers on its admin API", async () => {
    const open = await startEmulator({ inMemory: true });
    try {
      const p = Number(new URL(open.url).port);
      const send = (headers: string[], body: string) => rawRequest(p, ["POST /emulator/v1/events HTTP/1.1", "host: 127.0.0.1", ...headers], Buffer.from(body));
      assert.equal((await send(["origin: https://evil.example", "content-type: text/plain"], '{"type":"batch.succeeded"}')).status, 403);
      assert.equal((await send(["content-type: text/plain"], '{"type":"batch.succeeded"}')).status, 400);
      assert.equal((await send(["content-type: application/json"], '{"type":"batch.succeeded"}')).status, 200);
    } finally {
      await open.close();
    }
  });
});

describe("request bodies", () => {
  test("JSON nested 300,000 deep is a 400 on every body-taking route, and the emulator keeps serving", async () => {
    const deep = "[".repeat(300_000) + "]".repeat(300_000);
    const deepObject = '{"a":'.repeat(100_000) + "1" + "}".repeat(100_000);
    for (const [method, path] of [
      ["POST", "/emulator/v1/events"],
      ["POST", "/v1beta/webhooks"],
      ["PATCH", `/v1beta/webhooks/${webhookId}`],
      ["POST", "/v1beta/interactions"],
    ]) {
      for (const body of [deep, deepObject, `{"type":"batch.succeeded","data":${"[".repeat(65)}${"]".repeat(65)}}`]) {
        const status = await attack(method, path, { "content-type": "application/json", "x-goog-api-key": KEY }, body);
        assert.equal(status, 400, `${method} ${path} answered ${status}`);
      }
    }
    // At the limit it is still fine.
    assert.equal(await attack("POST", "/emulator/v1/events", { "content-type": "application/json", "x-goog-api-key": KEY }, `{"type":"batch.succeeded","data":{"a":${"[".repeat(60)}${"]".repeat(60)}}}`, true), 200);
  });

  test("field lengths are bounded, so no request, row or list page grows without limit", async () => {
    const client = new WebhooksClient({ baseUrl: emulator.apiUrl, apiKey: KEY });
    const headers = { "content-type": "application/json", "x-goog-api-key": KEY };
    const longUri = "http://127.0.0.1:9/" + "a".repeat(1_000_000);
    const status = await attack("POST", "/v1beta/webhooks", headers, JSON.stringify({ uri: longUri, subscribed_events: ["batch.failed"] }));
    assert.ok(status === 400 || status === 413, `a 1 MB uri answered ${status}`);
    const at = (n: number) => "http://127.0.0.1:9/" + "a".repeat(n - 19);
    assert.equal(await attack("POST", "/v1beta/webhooks", headers, JSON.stringify({ uri: at(2049), subscribed_events: ["batch.failed"] })), 400);
    assert.equal(await attack("POST", "/v1beta/webhooks", headers, JSON.stringify({ uri: at(100), name: "n".repeat(257), subscribed_events: ["batch.failed"] })), 400);
    assert.equal(await attack("POST", "/v1beta/webhooks", headers, JSON.stringify({ uri: at(100), subscribed_events: Array(65).fill("batch.failed") })), 400);
    const target = await client.create({ uri: at(100), subscribed_events: ["batch.failed"] });
    assert.equal(await attack("PATCH", `/v1beta/webhooks/${target.id}?update_mask=uri`, headers, JSON.stringify({ uri: at(2049) })), 400);
    await client.delete(target.id);
    const metadata = { blob: "x".repeat(17 * 1024) };
    assert.equal(await attack("POST", "/emulator/v1/events", headers, JSON.stringify({ type: "batch.succeeded", webhook_config: { uris: ["http://127.0.0.1:9/x"], user_metadata: metadata } })), 400);

    // 300 webhooks at every limit, then the largest page the API serves: bounded, and answered.
    const made: string[] = [];
    for (let i = 0; i < 300; i++) {
      made.push((await client.create({ name: "n".repeat(256), uri: at(2048), subscribed_events: ["batch.failed"] })).id);
    }
    const { status: listed, body } = await rawRequest(port, ["GET /v1beta/webhooks?page_size=1000 HTTP/1.1", "host: 127.0.0.1", `x-goog-api-key: ${KEY}`]);
    assert.equal(listed, 200);
    assert.ok(body.length < 300 * 4096, `a page of 300 maximal webhooks is ${body.length} bytes`);
    for (const id of made) await client.delete(id);
  });
});

describe("delivery targets", () => {
  let trap: Server;
  let trapHits = 0;
  beforeAll(async () => {
    // Listens on every interface: a delivery that escaped to 0.0.0.0 would land here and be counted.
    trap = createServer((_req, res) => {
      trapHits++;
      res.end("ok");
    });
    await new Promise<void>((r) => trap.listen(0, "0.0.0.0", r));
  });
  afterAll(() => new Promise((r) => trap.close(r)));

  test("a name under .localhost that resolves off loopback is refused at connect time, for good; one that resolves to loopback is delivered", async () => {
    const trapPort = (trap.address() as AddressInfo).port;
    const resolver: Resolver = (hostname, _options, callback) => {
      if (hostname === "evil.localhost") return callback(null, [{ address: "0.0.0.0", family: 4 }]);
      if (hostname === "twofaced.localhost") return callback(null, [{ address: "127.0.0.1", family: 4 }, { address: "0.0.0.0", family: 4 }]);
      callback(null, [{ address: "127.0.0.1", family: 4 }]);
    };
    const guarded = await startEmulator({ inMemory: true, apiKey: KEY, deliveryResolver: resolver });
    try {
      const client = new WebhooksClient({ baseUrl: guarded.apiUrl, apiKey: KEY });
      for (const host of ["evil.localhost", "twofaced.localhost", "good.localhost"]) {
        await client.create({ name: host, uri: `http://${host}:${trapPort}/hook`, subscribed_events: ["batch.succeeded"] });
      }
      const emitted = await admin(guarded, "POST", "/events", { type: "batch.succeeded" });
      assert.equal(emitted.status, 200);
      await waitFor("three deliveries settled", async () => {
        const { deliveries } = (await (await admin(guarded, "GET", "/deliveries")).json()) as { deliveries: { status: string }[] };
        return deliveries.length === 3 && deliveries.every((d) => d.status !== "pending");
      });
      const { deliveries } = (await (await admin(guarded, "GET", "/deliveries")).json()) as { deliveries: { target: string; status: string; attempts: { error: string | null }[] }[] };
      const byHost = Object.fromEntries(deliveries.map((d) => [new URL(d.target).hostname, d]));
      assert.equal(byHost["good.localhost"].status, "succeeded");
      for (const host of ["evil.localhost", "twofaced.localhost"]) {
        assert.equal(byHost[host].status, "failed", `${host} is not retried`);
        assert.equal(byHost[host].attempts.length, 1);
        assert.match(byHost[host].attempts[0].error ?? "", /target not allowed: .* resolves to 0\.0\.0\.0/);
      }
      assert.equal(trapHits, 1, "only the loopback delivery reached the listener");
    } finally {
      await guarded.close();
    }
  });
});
