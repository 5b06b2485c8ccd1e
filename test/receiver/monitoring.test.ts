/**
 * lane: full (promtool, Redis)
 * receiver/monitoring/: the alert rules pass `promtool check rules` and their unit tests
 * (`promtool test rules`, synthetic series: each alert fires on its case and not on the others); a
 * real scrape of a durable receiver (with REDIS_WAIT_REPLICAS, so every metric exists) parses and
 * lints clean for the receiver's own metrics; and every metric the rules and the dashboard query is one
 * that scrape exports.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildReceiver, loadConfig } from "gemini-webhooks-receiver";
import { freePort } from "../../scripts/free-port";
import { REPO_ROOT } from "../../scripts/paths";
import { waitFor } from "../../scripts/wait-for";
import { logSink } from "../support/log-sink";
import { RedisServer } from "../support/redis-server";
import { ask } from "../support/redis-topologies";

const MONITORING = join(REPO_ROOT, "receiver", "monitoring");
const work = mkdtempSync(join(tmpdir(), "gemini-monitoring-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function promtool(args: string[], input?: string) {
  const result = spawnSync("promtool", args, { cwd: MONITORING, encoding: "utf8", input });
  if (result.error) throw new Error(`promtool: ${result.error.message} (npm test installs it: Debian's prometheus package)`);
  return result;
}

test("promtool check rules, and the rules' unit tests", () => {
  const checked = promtool(["check", "rules", "alerts.yml"]);
  assert.equal(checked.status, 0, checked.stdout + checked.stderr);
  assert.match(checked.stdout, /SUCCESS: 8 rules found/);
  const tested = promtool(["test", "rules", "alerts.test.yml"]);
  assert.equal(tested.status, 0, tested.stdout + tested.stderr);
  assert.match(tested.stdout, /SUCCESS/);
});

/** Metric names a PromQL expression reads (the receiver's and the Node runtime's). */
function metricsIn(expr: string): string[] {
  return [...new Set(expr.match(/\b(gemini_webhooks?_[a-z_]+|nodejs_[a-z0-9_]+|process_[a-z_]+)\b/g) ?? [])];
}

test("a real scrape lints clean for the receiver's metrics, and every metric the rules and the dashboard query is in it", async () => {
  const master = await RedisServer.start({ dir: mkdtempSync(join(work, "master-")) });
  const replica = await RedisServer.start({ dir: mkdtempSync(join(work, "replica-")), args: ["--replicaof", "127.0.0.1", String(master.port)] });
  await waitFor("the replica online", async () => /slave0:.*state=online/.test(await ask<string>(master.port, "INFO", "replication")), 20_000, 50);
  const port = await freePort();
  const secret = "whsec_" + randomBytes(32).toString("base64");
  const receiver = buildReceiver(loadConfig({ WEBHOOK_SIGNING_SECRETS: secret, REDIS_URL: master.url, REDIS_WAIT_REPLICAS: "1", PORT: String(port), HOST: "127.0.0.1" }), {
    logStream: logSink().stream,
    handler: async () => undefined,
  });
  await receiver.listen();
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitFor("ready", async () => (await fetch(`${base}/readyz`)).status === 200, 10_000, 50);
    const body = JSON.stringify({ type: "batch.succeeded", data: { id: "batches/1" } });
    const ts = Math.floor(Date.now() / 1000);
    const id = "msg_monitoring";
    const signature = "v1," + createHmac("sha256", Buffer.from(secret.slice(6), "base64")).update(`${id}.${ts}.${body}`).digest("base64");
    assert.equal((await fetch(`${base}/webhooks/gemini`, { method: "POST", headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": signature }, body })).status, 200);
    let scrape = "";
    await waitFor("the handled event in the scrape", async () => /^gemini_webhook_processing_seconds_bucket\{/m.test((scrape = await (await fetch(`${base}/metrics`)).text())), 10_000, 100);

    const linted = promtool(["check", "metrics"], scrape);
    const complaints = (linted.stdout + linted.stderr).split("\n").filter((l) => l.trim());
    assert.ok(!complaints.some((l) => /error|parse/i.test(l)), complaints.join("\n"));
    assert.deepEqual(complaints.filter((l) => l.startsWith("gemini_")), [], "the receiver's own metrics lint clean");

    const exported = new Set([...scrape.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) => (type === "histogram" ? [name, `${name}_bucket`, `${name}_sum`, `${name}_count`] : [name])));
    const dashboard = JSON.parse(readFileSync(join(MONITORING, "dashboard.json"), "utf8")) as { panels: { title: string; targets: { expr: string }[] }[] };
    const rules = readFileSync(join(MONITORING, "alerts.yml"), "utf8");
    const queried = [
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => [`dashboard "${p.title}"`, t.expr] as const)),
      ...[...rules.matchAll(/^\s+- alert: (\S+)\n\s+expr: (>-\n(?:\s{10}.*\n)+|.*\n)/gm)].map(([, name, expr]) => [`alert ${name}`, expr] as const),
    ];
    assert.ok(queried.length >= 20, `${queried.length} queries found`);
    for (const [where, expr] of queried) {
      const names = metricsIn(expr);
      assert.ok(names.length > 0, `${where}: no metric found in ${expr}`);
      for (const name of names) assert.ok(exported.has(name), `${where} queries ${name}, which the receiver does not export`);
    }
  } finally {
    await receiver.shutdown(1_000);
    await replica.kill();
    await master.kill();
  }
}, 60_000);

test("what on-call asks first is measured: handlers in flight, pending, the oldest waiting event's age, delivery-to-handled latency, the build", async () => {
  const redis = await RedisServer.start({ dir: mkdtempSync(join(work, "oncall-")) });
  const port = await freePort();
  const secret = "whsec_" + randomBytes(32).toString("base64");
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const receiver = buildReceiver(loadConfig({ WEBHOOK_SIGNING_SECRETS: secret, REDIS_URL: redis.url, HANDLER_CONCURRENCY: "1", PORT: String(port), HOST: "127.0.0.1" }), {
    logStream: logSink().stream,
    handler: () => gate,
  });
  await receiver.listen();
  const base = `http://127.0.0.1:${port}`;
  const value = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]);
  try {
    for (const id of ["msg_oncall_1", "msg_oncall_2", "msg_oncall_3"]) {
      const body = JSON.stringify({ type: "batch.succeeded", data: { id: `batches/${id}` } });
      const ts = Math.floor(Date.now() / 1000);
      const signature = "v1," + createHmac("sha256", Buffer.from(secret.slice(6), "base64")).update(`${id}.${ts}.${body}`).digest("base64");
      assert.equal((await fetch(`${base}/webhooks/gemini`, { method: "POST", headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": signature }, body })).status, 200);
    }
    let text = "";
    await waitFor("one handler in flight, one entry pending, three waiting, the oldest over a second old", async () => {
      text = await (await fetch(`${base}/metrics`)).text();
      return value(text, "gemini_webhook_handlers_in_flight") === 1 && value(text, "gemini_webhook_pending") === 1 && value(text, "gemini_webhook_queue_depth") === 3 && value(text, "gemini_webhook_oldest_event_age_seconds") >= 1;
    }, 10_000, 100);
    assert.match(text, /^gemini_webhooks_build_info\{version="\d+\.\d+\.\d+",node="v\d+\.\d+\.\d+"\} 1$/m);
    release();
    await waitFor("all handled: nothing in flight, pending or waiting; three latencies of at least a second", async () => {
      text = await (await fetch(`${base}/metrics`)).text();
      return value(text, "gemini_webhook_handlers_in_flight") === 0 && value(text, "gemini_webhook_pending") === 0 && value(text, "gemini_webhook_oldest_event_age_seconds") === 0 && value(text, "gemini_webhook_event_latency_seconds_count") === 3;
    }, 10_000, 100);
    assert.ok(value(text, "gemini_webhook_event_latency_seconds_sum") >= 2.5, "each waited about a second or more behind the gate");
  } finally {
    release();
    await receiver.shutdown(1_000);
    await redis.kill();
  }
}, 60_000);

test("three replicas on one stream: exactly one exports the stream-wide gauges, so sum() over them is the true backlog; stopping it hands the role over", async () => {
  const redis = await RedisServer.start({ dir: mkdtempSync(join(work, "sum-")) });
  const secret = "whsec_" + randomBytes(32).toString("base64");
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const replicas = await Promise.all(
    [0, 1, 2].map(async () => {
      const port = await freePort();
      const receiver = buildReceiver(loadConfig({ WEBHOOK_SIGNING_SECRETS: secret, REDIS_URL: redis.url, HANDLER_CONCURRENCY: "1", PORT: String(port), HOST: "127.0.0.1" }), { logStream: logSink().stream, handler: () => gate });
      await receiver.listen();
      return { receiver, base: `http://127.0.0.1:${port}` };
    }),
  );
  const samples = async (name: string) =>
    (await Promise.all(replicas.map(async (r) => new RegExp(`^${name} (\\S+)$`, "m").exec(await (await fetch(`${r.base}/metrics`).catch(() => new Response(""))).text())?.[1]))).filter((v): v is string => v !== undefined).map(Number);
  const stopped = new Set<number>();
  try {
    for (let i = 0; i < 30; i++) {
      const id = `msg_sum_${i}`;
      const body = JSON.stringify({ type: "batch.succeeded", data: { id: `batches/${id}` } });
      const ts = Math.floor(Date.now() / 1000);
      const signature = "v1," + createHmac("sha256", Buffer.from(secret.slice(6), "base64")).update(`${id}.${ts}.${body}`).digest("base64");
      assert.equal((await fetch(`${replicas[i % 3].base}/webhooks/gemini`, { method: "POST", headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": signature }, body })).status, 200);
    }
    // 30 accepted, 3 taken (one handler each, held at the gate): the stream's backlog is 30, its pending 3.
    await waitFor("one replica exporting a backlog of 30 and 3 pending", async () => {
      const [depth, pending] = [await samples("gemini_webhook_queue_depth"), await samples("gemini_webhook_pending")];
      return depth.length === 1 && depth[0] === 30 && pending.length === 1 && pending[0] === 3;
    }, 10_000, 100);
    const inFlight = await samples("gemini_webhook_handlers_in_flight");
    assert.deepEqual(inFlight, [1, 1, 1], "per-replica metrics stay on every replica");
    const reporter = (await Promise.all(replicas.map(async (r) => /^gemini_webhook_queue_depth \S+$/m.test(await (await fetch(`${r.base}/metrics`)).text())))).indexOf(true);
    stopped.add(reporter);
    await replicas[reporter].receiver.shutdown(500); // its 1 held event stays pending for the others
    await waitFor("another replica takes the role over and reports the same stream", async () => {
      const depth = await samples("gemini_webhook_queue_depth");
      return depth.length === 1 && depth[0] === 30;
    }, 40_000, 200);
  } finally {
    release();
    await Promise.all(replicas.filter((_, i) => !stopped.has(i)).map((r) => r.receiver.shutdown(1_000)));
    await redis.kill();
  }
}, 90_000);
