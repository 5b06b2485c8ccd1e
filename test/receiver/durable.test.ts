/**
 * lane: full (Redis)
 * Durable mode with real processes: receiver servers (the CLI) on one real redis-server, a
 * HANDLER_MODULE that records each run, deliveries signed as Gemini signs them and spread across the
 * replicas by a sender that retries elsewhere on a refused connection or a 503 (as Gemini plus a load
 * balancer would). Replicas and Redis are SIGKILLed mid-run; everything answered 200 must be handled.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Redis from "ioredis";
import { freePort } from "../../scripts/free-port";
import { RECEIVER_CLI } from "../../scripts/paths";
import { waitFor } from "../../scripts/wait-for";
import { RedisServer } from "../support/redis-server";
import { deliver, HANDLER, inFlight, Replica, runs, secret, sendAll, sleep } from "../support/replicas";

const work = mkdtempSync(join(tmpdir(), "gemini-durable-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

test("three replicas, 2,000 deliveries, one replica SIGKILLed mid-run and restarted: every delivery answered 200 is handled", async () => {
  const redis = await RedisServer.start({ dir: mkdtempSync(join(work, "redis-")), fsync: "always" });
  const record = join(work, "replicas.log");
  writeFileSync(record, "");
  const env = {
    WEBHOOK_SIGNING_SECRETS: secret,
    REDIS_URL: redis.url,
    HANDLER_MODULE: HANDLER,
    HANDLER_VISIBILITY_TIMEOUT_MS: "1500",
    HANDLER_TIMEOUT_MS: "1000",
    RECORD_WORK_MS: "100", // slower than the senders: a backlog, and handlers in flight at the kill
    RECORD_FILE: record,
    LOG_LEVEL: "warn",
  };
  const replicas = await Promise.all([0, 1, 2].map(async () => new Replica(await freePort(), env)));
  await Promise.all(replicas.map((r) => r.start()));
  const ids = Array.from({ length: 2000 }, (_, i) => `msg_r${i}_${randomBytes(3).toString("hex")}`);
  let restarted: Promise<void> | undefined;
  const answers = await sendAll(replicas.map((r) => r.port), ids, 24, async (n) => {
    if (n >= 700 && !restarted) {
      // Killed while it has handlers mid-run (so the take-over is exercised, however the machine's
      // load shifts the timing), restarted a second later as an orchestrator would; the senders carry on.
      const victim = replicas[1];
      restarted = waitFor("a handler mid-run on the replica to kill", () => inFlight(record, victim.child.pid!) > 0, 30_000, 2)
        .then(() => victim.kill("SIGKILL"))
        .then(() => sleep(1_000))
        .then(() => victim.start());
    }
  });
  assert.ok(restarted, "the replica was killed");
  await restarted;
  // A request the killed replica had accepted, but whose answer died with it, is retried elsewhere
  // and answered "duplicate": the event is in the stream all the same.
  const duplicates = [...answers.values()].filter((a) => a === "duplicate").length;
  assert.equal(answers.size, 2000);
  assert.ok(duplicates <= 24, `${duplicates} duplicates for 24 requests in flight at the kill`);

  await waitFor("every accepted delivery handled", () => runs(record).done.size === 2000, 60_000);
  const { started, done } = runs(record);
  for (const id of ids) assert.ok((done.get(id) ?? 0) >= 1, `${id} was answered 200 and never handled`);
  const twice = ids.filter((id) => done.get(id)! > 1);
  const interrupted = ids.filter((id) => started.get(id)! > done.get(id)!);
  console.log(`durable replicas: 2000 handled; ${duplicates} answers lost with the replica and retried (answered duplicate); ${interrupted.length} runs cut by the SIGKILL and re-run; ${twice.length} completed twice (killed between the handler's end and the acknowledgement)`);
  assert.ok(interrupted.length > 0, "the SIGKILL caught no handler mid-run: the take-over was not exercised");
  // Only what the killed replica had in flight (its handler concurrency) runs again.
  assert.ok(interrupted.length + twice.length <= 8, `${interrupted.length + twice.length} re-runs`);
  await Promise.all(replicas.map((r) => r.kill("SIGTERM")));
  await redis.kill();
}, 240_000);

test("Redis SIGKILLed mid-run and restarted with appendfsync always: nothing answered 200 is lost", async () => {
  const redis = await RedisServer.start({ dir: mkdtempSync(join(work, "redis-")), fsync: "always" });
  const record = join(work, "redis-crash.log");
  writeFileSync(record, "");
  // Slow handlers keep a backlog in the stream when Redis dies.
  const env = { WEBHOOK_SIGNING_SECRETS: secret, REDIS_URL: redis.url, HANDLER_MODULE: HANDLER, RECORD_WORK_MS: "50", HANDLER_VISIBILITY_TIMEOUT_MS: "1500", HANDLER_TIMEOUT_MS: "1000", RECORD_FILE: record, LOG_LEVEL: "warn" };
  const replicas = await Promise.all([0, 1].map(async () => new Replica(await freePort(), env)));
  await Promise.all(replicas.map((r) => r.start()));
  const ids = Array.from({ length: 600 }, (_, i) => `msg_k${i}_${randomBytes(3).toString("hex")}`);
  let restarted: Promise<void> | undefined;
  let backlogAtKill = 0;
  const answers = await sendAll(replicas.map((r) => r.port), ids, 16, async (n) => {
    if (n >= 300 && !restarted) {
      backlogAtKill = n - runs(record).done.size;
      restarted = redis.kill().then(() => sleep(1_500)).then(() => redis.start());
    }
  });
  await restarted;
  assert.ok(backlogAtKill > 0, "Redis died with work in the stream");
  assert.equal(answers.size, 600);
  await waitFor("every accepted delivery handled after Redis came back", () => runs(record).done.size === 600, 90_000);
  const { done } = runs(record);
  for (const id of ids) assert.ok((done.get(id) ?? 0) >= 1, `${id} was answered 200 and lost`);
  console.log(`durable Redis crash: ${backlogAtKill} accepted and not yet handled when Redis was SIGKILLed; all 600 handled after its restart`);
  await Promise.all(replicas.map((r) => r.kill("SIGTERM")));
  await redis.kill();
}, 240_000);

test("a handler failing every time moves the event to the dead-letter stream with its error, after HANDLER_MAX_ATTEMPTS runs", async () => {
  const redis = await RedisServer.start({ dir: mkdtempSync(join(work, "redis-")), fsync: "everysec" });
  const failing = join(work, "failing-handler.js");
  writeFileSync(failing, `exports.handle = async (event, meta) => { throw new Error("no database for " + meta.webhookId + " on attempt " + meta.attempt); };`);
  const replica = new Replica(await freePort(), { WEBHOOK_SIGNING_SECRETS: secret, REDIS_URL: redis.url, HANDLER_MODULE: failing, HANDLER_VISIBILITY_TIMEOUT_MS: "300", HANDLER_TIMEOUT_MS: "200", HANDLER_MAX_ATTEMPTS: "3", LOG_LEVEL: "warn" });
  await replica.start();
  assert.equal(await deliver([replica.port], "msg_poison", 0), "accepted");
  const client = new Redis(redis.url);
  try {
    await waitFor("the dead letter", async () => (await client.xlen("gemini-webhooks:{p0}:dead-letter")) === 1, 20_000);
    const [[, fields]] = (await client.xrange("gemini-webhooks:{p0}:dead-letter", "-", "+")) as [string, string[]][];
    const entry = Object.fromEntries(fields.reduce<string[][]>((pairs, v, i) => (i % 2 ? (pairs[pairs.length - 1].push(v), pairs) : [...pairs, [v]]), []));
    assert.match(entry.error, /no database for msg_poison on attempt 3/);
    assert.equal(entry.attempts, "3");
    // The entry keeps the kind, the webhook id and the verified body as it arrived.
    const [kind, webhookId, body] = entry.event.split("\n");
    assert.deepEqual([kind, webhookId, JSON.parse(body).data], ["static", "msg_poison", { id: "batches/msg_poison" }]);
    assert.equal(await client.xlen("gemini-webhooks:{p0}:events"), 0, "the event left the work stream");
    const metrics = await (await fetch(`http://127.0.0.1:${replica.port}/metrics`)).text();
    assert.match(metrics, /gemini_webhook_processed_total\{outcome="failed"\} 2/);
    assert.match(metrics, /gemini_webhook_processed_total\{outcome="dead_letter"\} 1/);
    await waitFor("the queue-depth gauge at 0 (it is read at most once a second)", async () => /gemini_webhook_queue_depth 0/.test(await (await fetch(`http://127.0.0.1:${replica.port}/metrics`)).text()), 5_000, 100);
  } finally {
    client.disconnect();
    await replica.kill("SIGTERM");
    await redis.kill();
  }
}, 60_000);

test("upgrading from 0.3: the events 0.3 left in its one stream (never read, and pending with a replica that died) are handled, its dead letters move to this release's, nothing is appended there", async () => {
  const redis = await RedisServer.start();
  const record = join(work, "upgrade.log");
  writeFileSync(record, "");
  const client = new Redis(redis.url);
  // 0.3's layout, as its replicas wrote it: one stream `<prefix>events` read by the group `receivers`.
  const event = (id: string) => JSON.stringify({ kind: "static", webhookId: id, type: "batch.succeeded", data: { id: `batches/${id}` }, envelope: { type: "batch.succeeded" } });
  await client.xgroup("CREATE", "gemini-webhooks:events", "receivers", "0", "MKSTREAM");
  for (let i = 0; i < 10; i++) await client.xadd("gemini-webhooks:events", "*", "event", event(`msg_old_pending${i}`));
  await client.xreadgroup("GROUP", "receivers", "old-replica-killed", "COUNT", 10, "STREAMS", "gemini-webhooks:events", ">"); // in flight when 0.3 died
  for (let i = 0; i < 20; i++) await client.xadd("gemini-webhooks:events", "*", "event", event(`msg_old_waiting${i}`));
  await client.xadd("gemini-webhooks:dead-letter", "*", "event", event("msg_old_dead"), "error", "Error: no database", "attempts", "5", "entry", "1-0", "reason", "error", "consumer", "old", "failed_at", String(Date.now()));
  await client.set("gemini-webhooks:dead-letter:trimmed", "2");

  const env = { WEBHOOK_SIGNING_SECRETS: secret, REDIS_URL: redis.url, HANDLER_MODULE: HANDLER, RECORD_FILE: record, HANDLER_VISIBILITY_TIMEOUT_MS: "1000", HANDLER_TIMEOUT_MS: "500", LOG_LEVEL: "info" };
  const replica = new Replica(await freePort(), env);
  await replica.start();
  try {
    assert.equal(await deliver([replica.port], "msg_new", 0), "accepted");
    await waitFor("0.3's events handled", () => runs(record).done.size === 31, 30_000);
    const { done } = runs(record);
    for (let i = 0; i < 10; i++) assert.equal(done.get(`msg_old_pending${i}`), 1);
    for (let i = 0; i < 20; i++) assert.equal(done.get(`msg_old_waiting${i}`), 1);
    await waitFor("0.3's stream emptied", async () => (await client.xlen("gemini-webhooks:events")) === 0, 10_000);
    assert.match(replica.log, /"events":30,"stream":"gemini-webhooks:events".*finishing the events an earlier release/);

    const listed = JSON.parse((await promisify(execFile)(process.execPath, [RECEIVER_CLI, "dead-letters", "list", "--json"], { env: { PATH: process.env.PATH, ...env } })).stdout) as { webhookId: string; error: string }[];
    assert.deepEqual(listed.map((l) => [l.webhookId, l.error]), [["msg_old_dead", "Error: no database"]]);
    assert.equal(await client.get("gemini-webhooks:{p0}:dead-letter:trimmed"), "2");
    assert.equal(await client.exists("gemini-webhooks:dead-letter", "gemini-webhooks:dead-letter:trimmed"), 0);
    assert.equal(await client.xlen("gemini-webhooks:{p0}:events"), 0, "the new delivery went to the new layout and was acknowledged there");
  } finally {
    client.disconnect();
    await replica.kill("SIGTERM");
    await redis.kill();
  }
}, 60_000);
