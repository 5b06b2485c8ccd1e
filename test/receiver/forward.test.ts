/**
 * lane: full (Redis)
 * HANDLER_URL: every verified event POSTed to a backend in any language, re-signed with Standard
 * Webhooks headers under FORWARD_SIGNING_SECRETS — checked with the reference `standardwebhooks`
 * library as the backend would. The body byte for byte as Gemini sent it; the delivery's id; a
 * rotation (two forwarding secrets) verified by a backend holding either; a backend down, then back:
 * retried, 0 lost; a backend answering 500: dead letter after HANDLER_MAX_ATTEMPTS, replayed once
 * fixed; Retry-After honoured; a redirect not followed; a hung backend cut at HANDLER_TIMEOUT_MS; every
 * configuration mistake refused at start-up by name, without echoing a secret.
 */
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildReceiver, ConfigError, DeadLetterStore, loadConfig } from "gemini-webhooks-receiver";
import Redis from "ioredis";
import { Webhook } from "standardwebhooks";
import { freePort } from "../../scripts/free-port";
import { waitFor } from "../../scripts/wait-for";
import { logSink } from "../support/log-sink";
import { RedisServer } from "../support/redis-server";

const work = mkdtempSync(join(tmpdir(), "gemini-forward-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const whsec = () => "whsec_" + randomBytes(32).toString("base64");
const geminiSecret = whsec();

let redis: RedisServer;
beforeAll(async () => {
  redis = await RedisServer.start({ dir: mkdtempSync(join(work, "redis-")) });
});
afterAll(() => redis?.kill());

interface Forwarded {
  headers: IncomingMessage["headers"];
  body: string;
  at: number;
}

/** A backend: records every request; `answer` decides each reply (default 204). */
async function backend(answer: (req: Forwarded, res: ServerResponse) => void = (_q, res) => void res.writeHead(204).end()) {
  const received: Forwarded[] = [];
  const server = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (body += chunk));
    request.on("end", () => {
      const forwarded = { headers: request.headers, body, at: Date.now() };
      received.push(forwarded);
      answer(forwarded, response);
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, received, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/events` };
}

async function start(env: Record<string, string>) {
  const port = await freePort();
  const logs = logSink();
  const receiver = buildReceiver(
    loadConfig({ WEBHOOK_SIGNING_SECRETS: geminiSecret, REDIS_URL: redis.url, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "info", HANDLER_TIMEOUT_MS: "2000", HANDLER_RETRY_BASE_MS: "100", ...env }),
    { logStream: logs.stream },
  );
  await receiver.listen();
  const base = `http://127.0.0.1:${port}`;
  const deliver = async (id: string, data: Record<string, unknown> = { id: `batches/${id}` }) => {
    // Spacing and key order a re-serialisation would change: the forward must carry these bytes.
    const body = `{"type":"batch.succeeded",  "version":"v1","data":${JSON.stringify(data)},"timestamp":"${new Date().toISOString()}"}`;
    const ts = Math.floor(Date.now() / 1000);
    const signature = "v1," + createHmac("sha256", Buffer.from(geminiSecret.slice(6), "base64")).update(`${id}.${ts}.${body}`).digest("base64");
    const response = await fetch(`${base}/webhooks/gemini`, { method: "POST", headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": signature }, body });
    assert.equal(response.status, 200);
    return body;
  };
  const metrics = async () => (await fetch(`${base}/metrics`)).text();
  return { receiver, deliver, metrics, logs };
}

test("each verified event reaches the backend with Gemini's body byte for byte, the delivery's id and type, signed under the forwarding secret (standardwebhooks verifies it; Gemini's secret does not)", async () => {
  const forwardSecret = whsec();
  const b = await backend();
  const { receiver, deliver, metrics } = await start({ REDIS_KEY_PREFIX: "fwd-basic:", HANDLER_URL: b.url, FORWARD_SIGNING_SECRETS: forwardSecret });
  try {
    const sent = new Map<string, string>();
    for (let i = 0; i < 20; i++) sent.set(`msg_fwd_${i}`, await deliver(`msg_fwd_${i}`, { id: `batches/${i}`, note: "ünïcode ✓" }));
    await waitFor("20 forwards", () => b.received.length === 20, 20_000, 20);
    const oracle = new Webhook(forwardSecret);
    for (const f of b.received) {
      const id = f.headers["webhook-id"] as string;
      assert.equal(f.body, sent.get(id), "the body as Gemini sent it");
      assert.deepEqual(oracle.verify(f.body, f.headers as Record<string, string>), JSON.parse(f.body));
      assert.throws(() => new Webhook(geminiSecret).verify(f.body, f.headers as Record<string, string>), "not signed with Gemini's secret");
      assert.equal(f.headers["gemini-event-type"], "batch.succeeded");
      assert.equal(f.headers["gemini-webhook-kind"], "static");
      assert.equal(f.headers["gemini-delivery-attempt"], "1");
      assert.equal(f.headers["content-type"], "application/json");
      assert.match(String(f.headers["user-agent"]), /^gemini-webhooks-receiver\/\d+\.\d+\.\d+$/);
    }
    assert.deepEqual(new Set(b.received.map((f) => f.headers["webhook-id"])), new Set(sent.keys()));
    assert.match(await metrics(), /gemini_webhook_forward_seconds_count\{outcome="ok"\} 20/);
  } finally {
    await receiver.shutdown(1_000);
    b.server.close();
  }
}, 60_000);

test("a rotation of the forwarding secret: with both secrets set, a backend holding only the old one and one holding only the new one both verify", async () => {
  const [oldSecret, newSecret] = [whsec(), whsec()];
  const b = await backend();
  const { receiver, deliver } = await start({ REDIS_KEY_PREFIX: "fwd-rotate:", HANDLER_URL: b.url, FORWARD_SIGNING_SECRETS: `${newSecret} ${oldSecret}` });
  try {
    await deliver("msg_rotate");
    await waitFor("the forward", () => b.received.length === 1, 10_000, 20);
    const [f] = b.received;
    assert.equal(String(f.headers["webhook-signature"]).split(" ").length, 2, "one v1 signature per secret");
    for (const secret of [oldSecret, newSecret]) new Webhook(secret).verify(f.body, f.headers as Record<string, string>);
    assert.throws(() => new Webhook(whsec()).verify(f.body, f.headers as Record<string, string>));
  } finally {
    await receiver.shutdown(1_000);
    b.server.close();
  }
}, 60_000);

test("the backend down for 3 s, then back: every event retried and forwarded, 0 lost; a 500 dead-letters after HANDLER_MAX_ATTEMPTS and is replayed once the backend is fixed", async () => {
  const forwardSecret = whsec();
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/events`;
  const { receiver, deliver, metrics, logs } = await start({ REDIS_KEY_PREFIX: "fwd-down:", HANDLER_URL: url, FORWARD_SIGNING_SECRETS: forwardSecret, HANDLER_MAX_ATTEMPTS: "12", HANDLER_CIRCUIT_FAILURES: "0", HANDLER_VISIBILITY_TIMEOUT_MS: "5000" });
  let b: Awaited<ReturnType<typeof backend>> | undefined;
  try {
    const ids = Array.from({ length: 15 }, (_, i) => `msg_down_${i}`);
    for (const id of ids) await deliver(id);
    await waitFor("failed attempts against the stopped backend", async () => /gemini_webhook_forward_seconds_count\{outcome="error"\} ([1-9]\d*)/.test(await metrics()), 10_000, 50);
    await new Promise((resolve) => setTimeout(resolve, 3_000)); // the outage this test is about
    // Back on the same port, failing one event for good.
    const failing = "msg_down_poison";
    let fixed = false;
    const server = createServer();
    b = { server, received: [], url };
    const received = b.received;
    server.on("request", (request: IncomingMessage, response: ServerResponse) => {
      let body = "";
      request.on("data", (c: Buffer) => (body += c));
      request.on("end", () => {
        const id = request.headers["webhook-id"] as string;
        if (id === failing && !fixed) return void response.writeHead(500).end("database says no");
        received.push({ headers: request.headers, body, at: Date.now() });
        response.writeHead(200).end();
      });
    });
    server.listen(port, "127.0.0.1");
    await once(server, "listening");
    await waitFor("every event forwarded after the outage", () => ids.every((id) => received.some((f) => f.headers["webhook-id"] === id)), 30_000, 50);
    assert.equal(new Set(received.map((f) => f.headers["webhook-id"])).size, 15, "0 lost");
    const attempts = Math.max(...received.map((f) => Number(f.headers["gemini-delivery-attempt"])));
    assert.ok(attempts > 1, "the forwards that met the outage came back as later attempts");

    await deliver(failing);
    const connection = new Redis(redis.url);
    const store = new DeadLetterStore(connection, "fwd-down:");
    try {
      await waitFor("the dead letter", async () => (await store.list()).length === 1, 60_000, 100);
      const [letter] = await store.list();
      assert.equal(letter.webhookId, failing);
      assert.equal(letter.attempts, 12);
      assert.match(letter.error, /HANDLER_URL answered 500/);
      assert.doesNotMatch(logs.text(), new RegExp(forwardSecret.slice(6, 20).replace(/[+/]/g, ".")), "no forwarding secret in the logs");
      fixed = true;
      await store.replay(letter.id, "test");
      await waitFor("the replayed event forwarded", () => received.some((f) => f.headers["webhook-id"] === failing), 20_000, 50);
    } finally {
      connection.disconnect();
    }
  } finally {
    await receiver.shutdown(1_000);
    b?.server.close();
  }
}, 120_000);

test("Retry-After on a 503 moves the next attempt later; a redirect is not followed; a hung backend is cut at HANDLER_TIMEOUT_MS", async () => {
  const forwardSecret = whsec();
  const elsewhere = await backend();
  let calls = 0;
  const b = await backend((f, res) => {
    const id = f.headers["webhook-id"];
    if (id === "msg_retry_after" && ++calls === 1) return void res.writeHead(503, { "retry-after": "2" }).end();
    if (id === "msg_redirect") return void res.writeHead(307, { location: elsewhere.url }).end();
    if (id === "msg_hang") return; // never answers
    res.writeHead(200).end();
  });
  const { receiver, deliver, metrics } = await start({ REDIS_KEY_PREFIX: "fwd-edges:", HANDLER_URL: b.url, FORWARD_SIGNING_SECRETS: forwardSecret, HANDLER_TIMEOUT_MS: "1000", HANDLER_MAX_ATTEMPTS: "2" });
  try {
    await deliver("msg_retry_after");
    await waitFor("the retry after Retry-After", () => b.received.filter((f) => f.headers["webhook-id"] === "msg_retry_after").length === 2, 20_000, 20);
    const [first, second] = b.received.filter((f) => f.headers["webhook-id"] === "msg_retry_after");
    console.log(`Retry-After: 2 with HANDLER_RETRY_BASE_MS=100 → next attempt ${second.at - first.at} ms later`);
    assert.ok(second.at - first.at >= 1_950, `retried after ${second.at - first.at} ms, before the backend's Retry-After`);

    await deliver("msg_redirect");
    await deliver("msg_hang");
    await waitFor("both given up (dead letters)", async () => /gemini_webhook_processed_total\{outcome="dead_letter"\} 2/.test(await metrics()), 30_000, 50);
    assert.equal(elsewhere.received.length, 0, "the redirect's target got nothing");
    const text = await metrics();
    assert.match(text, /gemini_webhook_forward_seconds_count\{outcome="3xx"\} 2/);
    assert.match(text, /gemini_webhook_handler_timeouts_total 2/);
  } finally {
    await receiver.shutdown(1_000);
    b.server.closeAllConnections();
    b.server.close();
    elsewhere.server.close();
  }
}, 90_000);

test("configuration mistakes are refused at start-up by name, and no secret is echoed", () => {
  const forwardSecret = whsec();
  const base = { WEBHOOK_SIGNING_SECRETS: geminiSecret };
  const refused = (env: Record<string, string>, message: RegExp) => {
    assert.throws(() => loadConfig({ ...base, ...env }), (err: Error) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.match(err.message, message);
      for (const secret of [geminiSecret, forwardSecret]) assert.ok(!err.message.includes(secret.slice(6, 16)), `a secret in: ${err.message}`);
      assert.ok(!err.message.includes("hunter2"), `a password in: ${err.message}`);
      return true;
    });
  };
  refused({ HANDLER_URL: "https://backend.example/events" }, /HANDLER_URL needs FORWARD_SIGNING_SECRETS/);
  refused({ HANDLER_URL: "http://backend.internal/events", FORWARD_SIGNING_SECRETS: forwardSecret }, /HANDLER_URL uses http: on backend\.internal, not loopback.*HANDLER_URL_ALLOW_HTTP/);
  refused({ HANDLER_URL: "https://user:hunter2@backend.example/events", FORWARD_SIGNING_SECRETS: forwardSecret }, /HANDLER_URL must not hold a user or password/);
  refused({ HANDLER_URL: "ftp://backend.example/", FORWARD_SIGNING_SECRETS: forwardSecret }, /HANDLER_URL must use http: or https:/);
  refused({ HANDLER_URL: "https://backend.example/", FORWARD_SIGNING_SECRETS: forwardSecret, HANDLER_MODULE: "/tmp/x.js" }, /HANDLER_URL and HANDLER_MODULE exclude each other/);
  refused({ HANDLER_URL: "https://backend.example/", FORWARD_SIGNING_SECRETS: `${forwardSecret} ${geminiSecret}` }, /FORWARD_SIGNING_SECRETS must not hold a Gemini signing secret/);
  refused({ HANDLER_URL: "https://backend.example/", FORWARD_SIGNING_SECRETS: "whsec_notbase64!!" }, /FORWARD_SIGNING_SECRETS/);
  refused({ FORWARD_SIGNING_SECRETS: forwardSecret }, /for HANDLER_URL, which is not set/);
  refused({ HANDLER_URL: "https://backend.example/", FORWARD_SIGNING_SECRET: forwardSecret }, /FORWARD_SIGNING_SECRET\b.*FORWARD_SIGNING_SECRETS/);
  // A handler module's own FORWARD_ variables (the durable-receiver example reads FORWARD_URL) stay the user's.
  assert.doesNotThrow(() => loadConfig({ ...base, FORWARD_URL: "http://example.test/events", FORWARD_TOKEN: "x" }));
  // Accepted: https anywhere; http on loopback; http on a private network when allowed.
  for (const env of [
    { HANDLER_URL: "https://backend.example/events" },
    { HANDLER_URL: "http://127.0.0.1:9000/events" },
    { HANDLER_URL: "http://backend:8000/events", HANDLER_URL_ALLOW_HTTP: "true" },
  ]) assert.equal(loadConfig({ ...base, ...env, FORWARD_SIGNING_SECRETS: forwardSecret }).forward?.url, env.HANDLER_URL);
});
