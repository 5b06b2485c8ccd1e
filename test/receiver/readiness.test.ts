/**
 * lane: full (Redis)
 * What the receiver tells its operator during an outage is true: a Redis paused with SIGSTOP (the
 * connection still looks up) and a master with fewer replicas than REDIS_WAIT_REPLICAS. Readiness
 * false within 2 s, every 503 counted under the reason that caused it, `gemini_webhook_redis_up` 0 and
 * the stream gauges NaN (never 0) meanwhile; ready again within 2 s of recovery.
 */
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildReceiver, loadConfig, Receiver } from "gemini-webhooks-receiver";
import { freePort } from "../../scripts/free-port";
import { waitFor } from "../../scripts/wait-for";
import { logSink } from "../support/log-sink";
import { RedisServer } from "../support/redis-server";
import { ask } from "../support/redis-topologies";

const work = mkdtempSync(join(tmpdir(), "gemini-readiness-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const secret = "whsec_" + randomBytes(32).toString("base64");
const key = Buffer.from(secret.slice(6), "base64");

async function start(env: Record<string, string>) {
  const port = await freePort();
  const logs = logSink();
  const receiver = buildReceiver(loadConfig({ WEBHOOK_SIGNING_SECRETS: secret, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "info", ...env }), { logStream: logs.stream, handler: async () => undefined });
  await receiver.listen();
  return { receiver, base: `http://127.0.0.1:${port}`, logs };
}

async function deliver(base: string, id = `msg_${randomBytes(6).toString("hex")}`): Promise<{ status: number; error?: string; ms: number }> {
  const body = JSON.stringify({ type: "batch.succeeded", data: { id: "batches/1" } });
  const ts = Math.floor(Date.now() / 1000);
  const started = Date.now();
  const response = await fetch(`${base}/webhooks/gemini`, {
    method: "POST",
    headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": "v1," + createHmac("sha256", key).update(`${id}.${ts}.${body}`).digest("base64") },
    body,
  });
  const answer = (await response.json()) as { error?: string };
  return { status: response.status, error: answer.error, ms: Date.now() - started };
}

const ready = async (base: string) => (await fetch(`${base}/readyz`)).status === 200;
const scrape = async (base: string) => (await fetch(`${base}/metrics`)).text();
const metric = (text: string, line: RegExp) => line.exec(text)?.[1];

/** How long until `predicate` holds, in ms; fails past `limitMs`. */
async function within(what: string, predicate: () => Promise<boolean>, limitMs: number): Promise<number> {
  const started = Date.now();
  await waitFor(what, predicate, limitMs + 3_000, 50);
  const took = Date.now() - started;
  assert.ok(took <= limitMs, `${what}: ${took} ms (at most ${limitMs})`);
  return took;
}

async function stopped(receiver: Receiver) {
  await receiver.shutdown(1_000);
}

test("Redis paused (SIGSTOP): not ready within 2 s, deliveries 503 unavailable, redis_up 0 and the gauges NaN; ready within 2 s of SIGCONT", async () => {
  const redis = await RedisServer.start({ dir: mkdtempSync(join(work, "paused-")) });
  const { receiver, base, logs } = await start({ REDIS_URL: redis.url, REDIS_FAILOVER_WAIT_MS: "500" });
  try {
    await waitFor("ready", () => ready(base), 10_000);
    assert.equal((await deliver(base)).status, 200);
    assert.equal(metric(await scrape(base), /^gemini_webhook_redis_up (\S+)$/m), "1");

    redis.child!.kill("SIGSTOP");
    const notReady = await within("not ready after SIGSTOP", async () => !(await ready(base)), 2_000);
    const readyz = (await (await fetch(`${base}/readyz`)).json()) as { handoff: string };
    assert.equal(readyz.handoff, "unavailable");
    const refused = await deliver(base);
    assert.deepEqual([refused.status, refused.error], [503, "unavailable"]);
    const during = await scrape(base);
    assert.equal(metric(during, /^gemini_webhook_redis_up (\S+)$/m), "0");
    // prom-client writes NaN as "Nan"; Prometheus parses it case-insensitively (Go's ParseFloat).
    assert.match(metric(during, /^gemini_webhook_queue_depth (\S+)$/m) ?? "", /^nan$/i, `a backlog that cannot be read is not 0:\n${during.split("\n").filter((l) => l.startsWith("gemini_webhook_")).join("\n")}`);
    assert.match(metric(during, /^gemini_webhook_dead_letters (\S+)$/m) ?? "", /^nan$/i);
    assert.match(metric(during, /^gemini_webhook_deliveries_total\{outcome="unavailable",kind="static"\} (\S+)$/m) ?? "", /^[1-9]/);
    assert.match(logs.text(), /redis does not answer a PING within 1 s/);

    redis.child!.kill("SIGCONT");
    const back = await within("ready after SIGCONT", () => ready(base), 2_000);
    assert.equal((await deliver(base)).status, 200);
    await waitFor("redis_up 1 and the gauges read", async () => {
      const text = await scrape(base);
      return metric(text, /^gemini_webhook_redis_up (\S+)$/m) === "1" && metric(text, /^gemini_webhook_queue_depth (\S+)$/m) === "0";
    }, 5_000, 100);
    console.log(`Redis SIGSTOP: not ready after ${notReady} ms; ready ${back} ms after SIGCONT`);
  } finally {
    redis.child?.kill("SIGCONT");
    await stopped(receiver);
    await redis.kill();
  }
}, 60_000);

test("REDIS_WAIT_REPLICAS=1 on a master with no replica: not ready within 2 s, every delivery refused at once as not_replicated; ready within 2 s of a replica coming online", async () => {
  const master = await RedisServer.start({ dir: mkdtempSync(join(work, "master-")) });
  const { receiver, base, logs } = await start({ REDIS_URL: master.url, REDIS_WAIT_REPLICAS: "1", REDIS_WAIT_TIMEOUT_MS: "3000" });
  let replica: RedisServer | undefined;
  try {
    await within("not ready with no replica", async () => !(await ready(base)), 2_000);
    assert.equal(((await (await fetch(`${base}/readyz`)).json()) as { handoff: string }).handoff, "not_replicated");
    const answers = await Promise.all(Array.from({ length: 10 }, () => deliver(base)));
    for (const a of answers) {
      assert.deepEqual([a.status, a.error], [503, "not_replicated"]);
      assert.ok(a.ms < 1_500, `refused at once, not after REDIS_WAIT_TIMEOUT_MS (3 s): ${a.ms} ms`);
    }
    const text = await scrape(base);
    assert.equal(metric(text, /^gemini_webhook_deliveries_total\{outcome="not_replicated",kind="static"\} (\S+)$/m), "10");
    assert.equal(metric(text, /^gemini_webhook_deliveries_total\{outcome="unavailable",kind="static"\} (\S+)$/m), "0", "a healthy Redis short of replicas is not 'unavailable'");
    assert.equal(metric(text, /^gemini_webhook_redis_replicas_online (\S+)$/m), "0");
    assert.equal(metric(text, /^gemini_webhook_redis_up (\S+)$/m), "1", "Redis itself answers");
    assert.match(logs.text(), /fewer replicas online than REDIS_WAIT_REPLICAS/);

    replica = await RedisServer.start({ dir: mkdtempSync(join(work, "replica-")), args: ["--replicaof", "127.0.0.1", String(master.port)] });
    await waitFor("the replica online", async () => /slave0:.*state=online/.test(await ask<string>(master.port, "INFO", "replication")), 20_000, 50);
    await within("ready once the replica is online", () => ready(base), 2_000);
    const accepted = await deliver(base);
    assert.equal(accepted.status, 200);
  } finally {
    await stopped(receiver);
    await replica?.kill();
    await master.kill();
  }
}, 60_000);
