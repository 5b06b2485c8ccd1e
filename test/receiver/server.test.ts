/**
 * lane: full (Redis)
 * The receiver server: responses, dedup (memory and Redis), metrics, log redaction, asynchronous
 * processing and draining, and real deliveries from the emulator (static and dynamic).
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { startEmulator } from "gemini-webhooks-emulator";
import { closeAllPools, WebhooksClient } from "gemini-webhooks-client";
import { buildReceiver, loadConfig, ReceivedEvent } from "gemini-webhooks-receiver";
import { TEST_API_KEY } from "../support/emulator";
import { waitFor } from "../support/receiver-stub";
import { freePort } from "../../scripts/free-port";
import { RedisServer } from "../support/redis-server";
import { RECEIVER_CLI } from "../../scripts/paths";
import { inject } from "../support/inject";
import { logSink } from "../support/log-sink";
import { admin } from "../support/admin";

afterAll(() => closeAllPools());

const secret = "whsec_" + randomBytes(32).toString("base64");
const otherSecret = "whsec_" + randomBytes(32).toString("base64");

function delivery(body: string, signWith = secret, id = "msg_" + randomBytes(6).toString("hex")) {
  const ts = new Date();
  return {
    payload: body,
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(Math.floor(ts.getTime() / 1000)),
      "webhook-signature": new StandardWebhook(signWith).sign(id, ts, body),
    },
  };
}

const envelope = JSON.stringify({ type: "batch.succeeded", version: "v1", timestamp: "2026-11-27T00:00:00Z", data: { id: "batches/1", output_file_uri: "gs://x" } });

describe("responses, dedup and metrics (inject)", () => {
  test("verify, dedup, enqueue; the handler runs after the answer", async () => {
    const logs = logSink();
    const handled: ReceivedEvent[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const receiver = buildReceiver(loadConfig({ WEBHOOK_SIGNING_SECRETS: `${otherSecret}, ${secret}` }), {
      logStream: logs.stream,
      handler: async (e) => {
        await gate;
        handled.push(e);
      },
    });
    try {
      const d = delivery(envelope);
      const first = await inject(receiver.app, { method: "POST", url: "/webhooks/gemini", ...d });
      assert.equal(first.statusCode, 200);
      assert.deepEqual(first.json(), { status: "accepted" });
      assert.equal(handled.length, 0, "answered before processing");
      const again = await inject(receiver.app, { method: "POST", url: "/webhooks/gemini", ...d });
      assert.equal(again.statusCode, 200);
      assert.deepEqual(again.json(), { status: "duplicate" });
      release();
      await receiver.idle();
      assert.equal(handled.length, 1);
      assert.equal(handled[0].type, "batch.succeeded");
      assert.equal(handled[0].data.id, "batches/1");

      const bad = await inject(receiver.app, { method: "POST", url: "/webhooks/gemini", ...delivery(envelope, "whsec_" + randomBytes(32).toString("base64")) });
      assert.equal(bad.statusCode, 401);
      assert.equal(bad.json().error, "invalid_signature");
      const wrongType = await inject(receiver.app, { method: "POST", url: "/webhooks/gemini", ...delivery(envelope), headers: { ...delivery(envelope).headers, "content-type": "text/plain" } });
      assert.equal(wrongType.statusCode, 400);
      const big = await inject(receiver.app, { method: "POST", url: "/webhooks/gemini", ...delivery("x".repeat(2 * 1024 * 1024)) });
      assert.equal(big.statusCode, 413);

      const metrics = (await inject(receiver.app, { method: "GET", url: "/metrics" })).body;
      assert.match(metrics, /gemini_webhook_deliveries_total\{outcome="verified",kind="static"\} 1/);
      assert.match(metrics, /gemini_webhook_deliveries_total\{outcome="duplicate",kind="static"\} 1/);
      assert.match(metrics, /gemini_webhook_deliveries_total\{outcome="invalid_signature",kind="static"\} 1/);
      assert.match(metrics, /gemini_webhook_deliveries_total\{outcome="malformed",kind="static"\} 1/);
      assert.match(metrics, /gemini_webhook_deliveries_total\{outcome="too_large",kind="static"\} 1/);
      assert.match(metrics, /gemini_webhook_processing_seconds_count\{result="ok"\} 1/);
      assert.equal((await inject(receiver.app, { method: "GET", url: "/healthz" })).statusCode, 200);
    } finally {
      await receiver.close();
    }
    const text = logs.text();
    assert.ok(!text.includes(secret.slice(6, 30)) && !text.includes(otherSecret.slice(6, 30)), "a secret reached the logs");
    assert.ok(!text.includes("v1,"), "a signature reached the logs");
    assert.ok(!text.includes("output_file_uri"), "a body reached the logs");
  });

  test("the default handler logs one JSON line per processed event", async () => {
    const logs = logSink();
    const receiver = buildReceiver(loadConfig({ WEBHOOK_SIGNING_SECRETS: secret }), { logStream: logs.stream });
    try {
      const d = delivery(envelope, secret, "msg_logline");
      assert.equal((await inject(receiver.app, { method: "POST", url: "/webhooks/gemini", ...d })).statusCode, 200);
      await receiver.idle();
    } finally {
      await receiver.close();
    }
    const line = logs.text().split("\n").filter(Boolean).map((l) => JSON.parse(l)).find((l) => l.msg === "gemini webhook processed");
    assert.deepEqual({ id: line.webhook_id, type: line.type, data: line.data_id }, { id: "msg_logline", type: "batch.succeeded", data: "batches/1" });
  });

  test("a full queue answers 503 and releases the claim, so the sender's retry is processed", async () => {
    let unblock!: () => void;
    const blocked = new Promise<void>((r) => (unblock = r));
    const receiver = buildReceiver(loadConfig({ WEBHOOK_SIGNING_SECRETS: secret, LOG_LEVEL: "silent" }), {
      handler: () => blocked,
      concurrency: 1,
      queueCapacity: 1,
    });
    try {
      assert.equal((await inject(receiver.app, { method: "POST", url: "/webhooks/gemini", ...delivery(envelope) })).statusCode, 200);
      const d = delivery(envelope);
      const refused = await inject(receiver.app, { method: "POST", url: "/webhooks/gemini", ...d });
      assert.equal(refused.statusCode, 503);
      unblock();
      await receiver.idle();
      const retried = await inject(receiver.app, { method: "POST", url: "/webhooks/gemini", ...d });
      assert.deepEqual(retried.json(), { status: "accepted" });
    } finally {
      unblock();
      await receiver.close();
    }
  });

  test("invalid configuration names the variable", () => {
    assert.throws(() => loadConfig({}), /WEBHOOK_SIGNING_SECRETS/);
    assert.throws(() => loadConfig({ WEBHOOK_SIGNING_SECRETS: "whsec_short" }), /WEBHOOK_SIGNING_SECRETS: entry #1 of 1/);
    assert.throws(() => loadConfig({ WEBHOOK_SIGNING_SECRETS: secret, PORT: "80a" }), /^ConfigError: PORT must be an integer/);
    assert.throws(() => loadConfig({ WEBHOOK_SIGNING_SECRETS: secret, WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS: "0" }), /WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS must be between 1 and 3600/);
    assert.throws(() => loadConfig({ JWKS_URI: "https://x/jwks" }), /JWKS_URI, JWT_ISSUER and JWT_AUDIENCE go together/);
    assert.throws(() => loadConfig({ WEBHOOK_SIGNING_SECRETS: secret, REDIS_URL: "http://x" }), /REDIS_URL must use redis:/);
    assert.throws(() => loadConfig({ WEBHOOK_SIGNING_SECRETS: secret, MAX_BODY_BYTES: "1" }), /MAX_BODY_BYTES must be between/);
    try {
      loadConfig({ WEBHOOK_SIGNING_SECRETS: `${secret} whsec_AAAA` });
    } catch (err) {
      assert.ok(!(err as Error).message.includes(secret), "the error echoes a secret");
    }
  });

  test("Redis topology settings: Sentinel, Cluster, WAIT and partitions read, and every mistake named without echoing a password", () => {
    const base = { WEBHOOK_SIGNING_SECRETS: secret };
    const sentinel = loadConfig({ ...base, REDIS_SENTINELS: "10.0.0.1:26379, sentinel-b:26379,[::1]:26380", REDIS_SENTINEL_NAME: "mymaster", REDIS_PASSWORD: "data-pass", REDIS_SENTINEL_PASSWORD: "sentinel-pass", REDIS_TLS: "true" }).redis!;
    assert.deepEqual(sentinel.topology, {
      kind: "sentinel",
      name: "mymaster",
      sentinels: [{ host: "10.0.0.1", port: 26379 }, { host: "sentinel-b", port: 26379 }, { host: "::1", port: 26380 }],
      sentinelPassword: "sentinel-pass",
    });
    assert.equal(sentinel.password, "data-pass");
    assert.equal(sentinel.tls, true);
    const cluster = loadConfig({ ...base, REDIS_CLUSTER_NODES: "a:7000,b:7001", REDIS_STREAM_PARTITIONS: "6", REDIS_WAIT_REPLICAS: "1", REDIS_WAIT_TIMEOUT_MS: "250" }).redis!;
    assert.deepEqual(cluster.topology, { kind: "cluster", nodes: [{ host: "a", port: 7000 }, { host: "b", port: 7001 }] });
    assert.deepEqual([cluster.partitions, cluster.waitReplicas, cluster.waitTimeoutMs, cluster.failoverWaitMs], [6, 1, 250, 5000]);
    assert.equal(loadConfig(base).redis, undefined, "no Redis: in memory");

    const refused: [Record<string, string>, RegExp][] = [
      [{ REDIS_URL: "redis://a:6379", REDIS_CLUSTER_NODES: "b:7000" }, /REDIS_URL and REDIS_CLUSTER_NODES exclude each other/],
      [{ REDIS_SENTINELS: "a:26379" }, /REDIS_SENTINELS needs REDIS_SENTINEL_NAME/],
      [{ REDIS_SENTINEL_NAME: "mymaster", REDIS_URL: "redis://a" }, /REDIS_SENTINEL_NAME is set without REDIS_SENTINELS/],
      [{ REDIS_SENTINELS: "a:26379,b", REDIS_SENTINEL_NAME: "m" }, /REDIS_SENTINELS: entry #2 "b" is not host:port/],
      [{ REDIS_CLUSTER_NODES: "a:99999" }, /REDIS_CLUSTER_NODES: entry #1 "a:99999" is not host:port/],
      [{ REDIS_WAIT_REPLICAS: "1" }, /REDIS_WAIT_REPLICAS is set but no Redis is: set REDIS_URL, REDIS_SENTINELS or REDIS_CLUSTER_NODES/],
      [{ REDIS_URL: "redis://a", REDIS_STREAM_PARTITIONS: "0" }, /REDIS_STREAM_PARTITIONS must be between 1 and 256/],
      [{ REDIS_URL: "redis://a", REDIS_WAIT_TIMEOUT_MS: "0" }, /REDIS_WAIT_TIMEOUT_MS must be between 1 and 60000/],
      [{ REDIS_URL: "redis://a", REDIS_TLS: "true" }, /REDIS_TLS applies to REDIS_SENTINELS and REDIS_CLUSTER_NODES; with REDIS_URL, use the rediss: scheme/],
      [{ REDIS_URL: "redis://:url-pass@a", REDIS_PASSWORD: "env-pass" }, /REDIS_PASSWORD and a password in REDIS_URL: set one/],
      [{ REDIS_URL: "redis://a", REDIS_KEY_PREFIX: "team{a}:" }, /REDIS_KEY_PREFIX must be .* without spaces or braces/],
      [{ REDIS_URL: "redis://a", REDIS_WAIT_REPLICA: "1" }, /REDIS_WAIT_REPLICA is not a receiver variable \(did you mean REDIS_WAIT_REPLICAS\?\)/],
    ];
    for (const [env, message] of refused) {
      assert.throws(() => loadConfig({ ...base, ...env }), (err: Error) => {
        assert.match(err.message, message);
        for (const value of ["url-pass", "env-pass"]) assert.ok(!err.message.includes(value), `${err.message} echoes a password`);
        return true;
      });
    }
  });

  test("the CLI refuses to start on bad configuration with a message naming the variable", () => {
    const result = spawnSync(process.execPath, [RECEIVER_CLI], { env: { PATH: process.env.PATH, PORT: "99999", WEBHOOK_SIGNING_SECRETS: secret }, encoding: "utf8" });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /PORT must be between 0 and 65535/);
    assert.ok(!result.stderr.includes(secret));
  });
});

describe("deduplication across replicas with Redis", () => {
  let redis: RedisServer | undefined;
  afterAll(() => redis?.kill());
  test("two receivers sharing REDIS_URL process a delivery once", async () => {
    redis = await RedisServer.start();
    const url = redis.url;
    const handled: string[] = [];
    const config = loadConfig({ WEBHOOK_SIGNING_SECRETS: secret, REDIS_URL: url, LOG_LEVEL: "silent" });
    const a = buildReceiver(config, { handler: async (e) => void handled.push("a:" + e.webhookId) });
    const b = buildReceiver(config, { handler: async (e) => void handled.push("b:" + e.webhookId) });
    try {
      await Promise.all([a.start(), b.start()]);
      // As a load balancer would: traffic once both report ready (Redis connected).
      for (const r of [a, b]) await waitFor("the receiver to be ready", async () => (await inject(r.app, { method: "GET", url: "/healthz" })).statusCode === 200);
      const d = delivery(envelope);
      const answers = await Promise.all([a, b, a, b].map((r) => inject(r.app, { method: "POST", url: "/webhooks/gemini", ...d })));
      assert.deepEqual(answers.map((x) => x.json().status).sort(), ["accepted", "duplicate", "duplicate", "duplicate"]);
      await Promise.all([a.idle(), b.idle()]);
      assert.equal(handled.length, 1);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe("real deliveries from the emulator", () => {
  test("static deliveries across a rotation with both secrets configured, and dynamic deliveries through the JWKS", async () => {
    const emu = await startEmulator({ inMemory: true, apiKey: TEST_API_KEY, jobCompletionDelayMs: 0 });
    const client = new WebhooksClient({ baseUrl: emu.apiUrl, apiKey: TEST_API_KEY });
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const hook = await client.create({ uri: `${base}/webhooks/gemini`, subscribed_events: ["batch.succeeded", "batch.failed"] });
    const { secret: rotated } = await client.rotateSigningSecret(hook.id);
    const handled: ReceivedEvent[] = [];
    const receiver = buildReceiver(
      loadConfig({
        WEBHOOK_SIGNING_SECRETS: `${rotated},${hook.new_signing_secret}`,
        JWKS_URI: `${emu.url}/.well-known/jwks.json`,
        JWT_ISSUER: emu.url,
        JWT_AUDIENCE: `${base}/webhooks/gemini/dynamic`,
        LOG_LEVEL: "silent",
      }),
      { handler: async (e) => void handled.push(e) },
    );
    await receiver.app.listen({ port, host: "127.0.0.1" });
    try {
      const emit = (body: unknown) => admin(emu, "POST", "/events", body);
      await emit({ type: "batch.succeeded" });
      await emit({ type: "batch.failed", webhook_config: { uris: [`${base}/webhooks/gemini/dynamic`], user_metadata: { team: "evals" } } });
      await waitFor("two processed events", () => handled.length === 2);
      const dynamic = handled.find((e) => e.kind === "dynamic")!;
      assert.deepEqual(dynamic.userMetadata, { team: "evals" });
      assert.equal(handled.find((e) => e.kind === "static")!.type, "batch.succeeded");
      const statuses = ((await (await admin(emu, "GET", "/deliveries")).json()) as { deliveries: { status: string }[] }).deliveries.map((d) => d.status);
      assert.deepEqual(statuses, ["succeeded", "succeeded"]);
    } finally {
      await receiver.close();
      await emu.close();
    }
  });

  test("SIGTERM drains the queue before the process exits", async () => {
    const port = await freePort();
    const child: ChildProcess = spawn(process.execPath, ["-e", drainScript(port)], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, WEBHOOK_SIGNING_SECRETS: secret, LOG_LEVEL: "silent" } });
    let out = "";
    child.stdout!.on("data", (c: Buffer) => (out += c));
    child.stderr!.on("data", (c: Buffer) => (out += c));
    await waitFor("the receiver to listen", () => out.includes("listening"));
    for (let i = 0; i < 5; i++) {
      const d = delivery(envelope);
      const r = await fetch(`http://127.0.0.1:${port}/webhooks/gemini`, { method: "POST", headers: d.headers, body: d.payload });
      assert.equal(r.status, 200);
    }
    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    assert.equal(code, 0, out);
    assert.equal((out.match(/processed/g) ?? []).length, 5, out);
  });
});

/** A receiver whose handler takes 200 ms per event; it drains on SIGTERM. */
function drainScript(port: number): string {
  const lib = JSON.stringify(require.resolve("gemini-webhooks-receiver"));
  return `
    const { buildReceiver, loadConfig } = require(${lib});
    const r = buildReceiver(loadConfig(process.env), { handler: () => new Promise((ok) => setTimeout(() => { console.log("processed"); ok(); }, 200)), concurrency: 1 });
    r.app.listen({ port: ${port}, host: "127.0.0.1" }).then(() => console.log("listening"));
    process.on("SIGTERM", () => r.close().then(() => process.exit(0)));
  `;
}

