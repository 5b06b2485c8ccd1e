/**
 * lane: full (Redis)
 * The receiver on day 2, with real processes (the CLI) on real redis-servers: handler deadlines,
 * bounded shutdown, dead letters operated with the CLI, liveness vs readiness through a Redis
 * outage, the metrics listener, key prefixes, start-up refusals and the npx launcher.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import Redis from "ioredis";
import { freePort } from "../../scripts/free-port";
import { RECEIVER_CLI, REPO_ROOT } from "../../scripts/paths";
import { waitFor } from "../../scripts/wait-for";
import { RedisServer } from "../support/redis-server";
import { deliver, HANDLER, inFlight, Replica, runs, secret, sendAll, signed, sleep } from "../support/replicas";

const execFileAsync = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), "gemini-ops-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The dead-letter CLI as an operator types it, with the server's environment. */
async function deadLetters(env: Record<string, string>, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(process.execPath, [RECEIVER_CLI, "dead-letters", ...args], { env: { PATH: process.env.PATH, ...env } });
  return stdout;
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(url)).text();
  const line = text.split("\n").find((l) => l.startsWith(name + " ") || l.startsWith(name + "{"));
  return line ? Number(line.split(" ").pop()) : NaN;
}

function recordFile(name: string): string {
  const file = join(work, name);
  writeFileSync(file, "");
  return file;
}

test("hung handlers time out, are dead-lettered with reason timeout after HANDLER_MAX_ATTEMPTS, and other events keep flowing; the CLI lists, shows, drops and replays them", async () => {
  const redis = await RedisServer.start();
  const record = recordFile("stuck.log");
  const env = {
    WEBHOOK_SIGNING_SECRETS: secret, REDIS_URL: redis.url, HANDLER_MODULE: HANDLER, RECORD_FILE: record, LOG_LEVEL: "warn",
    HANDLER_CONCURRENCY: "2", HANDLER_TIMEOUT_MS: "300", HANDLER_VISIBILITY_TIMEOUT_MS: "600", HANDLER_MAX_ATTEMPTS: "3",
  };
  const replicas = await Promise.all([0, 1].map(async () => new Replica(await freePort(), env)));
  await Promise.all(replicas.map((r) => r.start()));
  try {
    // Three hung events against two slots per replica: without a deadline they would hold every slot.
    const stuck = ["msg_stuck_a", "msg_stuck_b", "msg_stuck_c"];
    const normal = Array.from({ length: 200 }, (_, i) => `msg_ok_${i}`);
    await sendAll(replicas.map((r) => r.port), [...stuck, ...normal], 8);
    await waitFor("every normal event handled", () => normal.every((id) => runs(record).done.has(id)), 60_000);
    await waitFor("three dead letters", async () => JSON.parse(await deadLetters(env, "list", "--json")).length === 3, 60_000, 200);

    const listed = JSON.parse(await deadLetters(env, "list", "--json")) as { id: string; webhookId: string; reason: string; attempts: number; error: string }[];
    assert.deepEqual(listed.map((l) => l.webhookId).sort(), stuck);
    for (const letter of listed) {
      assert.equal(letter.reason, "timeout");
      assert.equal(letter.attempts, 3);
      assert.match(letter.error, /HANDLER_TIMEOUT_MS \(300 ms\)/);
    }
    for (const id of stuck) assert.equal(runs(record).started.get(id), 3, `${id}: one run per attempt`);
    const table = await deadLetters(env, "list");
    assert.match(table, /^3 dead letters/);
    assert.match(table, /timeout {2}attempts=3 {2}batch\.succeeded {2}msg_stuck_/);
    const shown = JSON.parse(await deadLetters(env, "show", listed[0].id)) as { event: { webhookId: string; data: { id: string } } };
    assert.equal(shown.event.data.id, `batches/${listed[0].webhookId}`);

    const timeouts = await Promise.all(replicas.map((r) => metric(`${r.url}/metrics`, "gemini_webhook_handler_timeouts_total")));
    assert.equal(timeouts[0] + timeouts[1], 9, "nine runs stopped at the deadline");
    // One replica exports the stream-wide gauges (the other none): sum() over replicas is the stream's count.
    const exported = async () => (await Promise.all(replicas.map((r) => metric(`${r.url}/metrics`, "gemini_webhook_dead_letters")))).filter((n) => !Number.isNaN(n));
    await waitFor("the dead-letter gauge at 3, from one replica (it is read at most once a second)", async () => JSON.stringify(await exported()) === "[3]", 5_000, 100);

    assert.equal((await deadLetters(env, "drop", listed[0].id)).trim(), `dropped ${listed[0].id}`);
    // Replay while no replica runs, to see what the replay wrote: a new entry (attempts start again), who and when.
    for (const r of replicas) assert.equal((await r.kill("SIGTERM")).code, 0);
    assert.match(await deadLetters(env, "replay", "--all", "--by", "oncall-alice"), /replayed 2 dead letters/);
    const client = new Redis(redis.url);
    const entries = (await client.xrange("gemini-webhooks:{p0}:events", "-", "+")) as [string, string[]][];
    client.disconnect();
    const replayed = entries.map(([, fields]) => Object.fromEntries([0, 2, 4, 6].map((i) => [fields[i], fields[i + 1]])));
    assert.equal(replayed.length, 2);
    for (const entry of replayed) {
      assert.equal(entry.replayed_by, "oncall-alice");
      assert.ok(Math.abs(Number(entry.replayed_at) - Date.now()) < 60_000);
      assert.ok(listed.some((l) => l.id === entry.replay_of));
    }
    assert.deepEqual(JSON.parse(await deadLetters(env, "list", "--json")), []);
    await assert.rejects(deadLetters(env, "show", "not-an-id"), /is not a dead-letter id/);
  } finally {
    await Promise.all(replicas.map((r) => r.kill("SIGKILL")));
    await redis.kill();
  }
}, 180_000);

test("a replayed dead letter is handled once its cause is fixed", async () => {
  const redis = await RedisServer.start();
  const record = recordFile("replay.log");
  writeFileSync(`${record}.failing`, "");
  const env = { WEBHOOK_SIGNING_SECRETS: secret, REDIS_URL: redis.url, HANDLER_MODULE: HANDLER, RECORD_FILE: record, LOG_LEVEL: "warn", HANDLER_TIMEOUT_MS: "500", HANDLER_VISIBILITY_TIMEOUT_MS: "600", HANDLER_MAX_ATTEMPTS: "2" };
  const replica = new Replica(await freePort(), env);
  await replica.start();
  try {
    assert.equal(await deliver([replica.port], "msg_fail_1", 0), "accepted");
    await waitFor("the dead letter", async () => JSON.parse(await deadLetters(env, "list", "--json")).length === 1, 30_000, 200);
    const [letter] = JSON.parse(await deadLetters(env, "list", "--json")) as { id: string; reason: string; error: string }[];
    assert.equal(letter.reason, "error");
    assert.match(letter.error, /downstream refused msg_fail_1/);
    unlinkSync(`${record}.failing`); // the downstream is back
    assert.match(await deadLetters(env, "replay", letter.id), new RegExp(`replayed ${letter.id} as event \\d+-\\d+`));
    await waitFor("the replayed event handled", () => runs(record).done.get("msg_fail_1") === 1, 30_000);
    await waitFor("the dead-letter gauge at 0 (it is read at most once a second)", async () => (await metric(`${replica.url}/metrics`, "gemini_webhook_dead_letters")) === 0, 5_000, 100);
  } finally {
    await replica.kill("SIGKILL");
    await redis.kill();
  }
}, 90_000);

test("DEAD_LETTER_MAX bounds the dead-letter stream: the oldest are trimmed and counted", async () => {
  const redis = await RedisServer.start();
  const record = recordFile("bound.log");
  writeFileSync(`${record}.failing`, "");
  const env = { WEBHOOK_SIGNING_SECRETS: secret, REDIS_URL: redis.url, HANDLER_MODULE: HANDLER, RECORD_FILE: record, LOG_LEVEL: "error", HANDLER_MAX_ATTEMPTS: "1", DEAD_LETTER_MAX: "5" };
  const replica = new Replica(await freePort(), env);
  await replica.start();
  try {
    const ids = Array.from({ length: 8 }, (_, i) => `msg_fail_${i}`);
    await sendAll([replica.port], ids, 1);
    await waitFor("eight dead-lettered", async () => (await metric(`${replica.url}/metrics`, 'gemini_webhook_processed_total{outcome="dead_letter"}')) === 8, 30_000, 100);
    await waitFor("the dead-letter gauge at 5 (it is read at most once a second)", async () => (await metric(`${replica.url}/metrics`, "gemini_webhook_dead_letters")) === 5, 5_000, 100);
    assert.equal(await metric(`${replica.url}/metrics`, "gemini_webhook_dead_letters_trimmed_total"), 3);
    assert.match(await deadLetters(env, "list"), /^5 dead letters \(3 older ones trimmed by DEAD_LETTER_MAX\)/);
    const kept = (JSON.parse(await deadLetters(env, "list", "--json")) as { webhookId: string }[]).map((l) => l.webhookId);
    assert.deepEqual(kept, ["msg_fail_7", "msg_fail_6", "msg_fail_5", "msg_fail_4", "msg_fail_3"], "the newest kept, newest first");
    assert.match(await deadLetters(env, "drop", "--all"), /dropped 5 dead letters/);
  } finally {
    await replica.kill("SIGKILL");
    await redis.kill();
  }
}, 90_000);

test("SIGTERM with handlers in flight (slow and hung): 503 and not ready at once, exit 0 within SHUTDOWN_TIMEOUT_MS + 1 s, and another replica finishes what was left", async () => {
  const redis = await RedisServer.start();
  const record = recordFile("drain.log");
  const env = {
    WEBHOOK_SIGNING_SECRETS: secret, REDIS_URL: redis.url, HANDLER_MODULE: HANDLER, RECORD_FILE: record, LOG_LEVEL: "info",
    RECORD_SLOW_MS: "4000", HANDLER_TIMEOUT_MS: "6000", HANDLER_VISIBILITY_TIMEOUT_MS: "7000", SHUTDOWN_TIMEOUT_MS: "1000",
  };
  const [a, b] = await Promise.all([0, 1].map(async () => new Replica(await freePort(), env)));
  await a.start();
  try {
    const slow = Array.from({ length: 5 }, (_, i) => `msg_slow_${i}`);
    await sendAll([a.port], [...slow, "msg_stuck_drain"], 6);
    await waitFor("six handlers in flight on the replica", () => inFlight(record, a.child.pid!) === 6, 20_000);
    await b.start();

    const exited = a.kill("SIGTERM");
    await sleep(100);
    assert.equal((await fetch(`${a.url}/readyz`)).status, 503, "not ready while draining");
    assert.equal((await fetch(`${a.url}/livez`)).status, 200, "still alive while draining");
    const refused = await fetch(`${a.url}/webhooks/gemini`, signed("msg_during_drain"));
    assert.equal(refused.status, 503);
    assert.equal(refused.headers.get("retry-after"), "5");
    const { code, ms } = await exited;
    console.log(`drain: SIGTERM → exit ${code} in ${ms} ms with 6 handlers in flight (SHUTDOWN_TIMEOUT_MS 1000)`);
    assert.equal(code, 0);
    assert.ok(ms <= 2_000, `exited after ${ms} ms`);
    assert.match(a.log, /"unfinished":6/);

    // The slow events were answered 200 and left pending: the other replica takes them over.
    await waitFor("the other replica finishes the slow events", () => slow.every((id) => runs(record).done.has(id)), 40_000, 100);
    assert.equal(runs(record).started.get("msg_stuck_drain")! >= 2, true, "the hung one was taken over too");
  } finally {
    await Promise.all([a.kill("SIGKILL"), b.kill("SIGKILL")]);
    await redis.kill();
  }
}, 120_000);

test("an idle replica exits 0 in under a second on SIGTERM, durable or in memory", async () => {
  const redis = await RedisServer.start();
  try {
    for (const env of [{ REDIS_URL: redis.url }, {}] as Record<string, string>[]) {
      const replica = new Replica(await freePort(), { WEBHOOK_SIGNING_SECRETS: secret, LOG_LEVEL: "warn", ...env });
      await replica.start();
      await deliver([replica.port], `msg_idle_${Object.keys(env).length}`, 0);
      await sleep(300);
      const { code, ms } = await replica.kill("SIGTERM");
      console.log(`idle ${env.REDIS_URL ? "durable" : "memory"} replica: SIGTERM → exit ${code} in ${ms} ms`);
      assert.equal(code, 0);
      assert.ok(ms < 1_000, `${ms} ms`);
    }
  } finally {
    await redis.kill();
  }
}, 60_000);

test("Redis stopped: the replica stays live, is not ready, answers 503 and logs the outage in a few lines; ready again when Redis is back", async () => {
  const redis = await RedisServer.start();
  const replica = new Replica(await freePort(), { WEBHOOK_SIGNING_SECRETS: secret, REDIS_URL: redis.url, LOG_LEVEL: "info" });
  await replica.start();
  try {
    await redis.kill();
    await waitFor("not ready", async () => (await fetch(`${replica.url}/readyz`)).status === 503);
    assert.equal((await fetch(`${replica.url}/livez`)).status, 200);
    assert.deepEqual(await (await fetch(`${replica.url}/healthz`)).json(), { status: "unavailable", kind: "durable", handoff: "unavailable", secrets: "ok", draining: false });
    const statuses = await Promise.all(Array.from({ length: 300 }, (_, i) => fetch(`${replica.url}/webhooks/gemini`, signed(`msg_outage_${i}`)).then((r) => r.status)));
    assert.ok(statuses.every((s) => s === 503));
    const lines = replica.log.split("\n").filter((l) => l.includes('"reason":"unavailable"'));
    assert.equal(lines.length, 1, "one line for 300 refusals in the window");
    const line = JSON.parse(lines[0]) as { level: number; webhook_id: string; remote: string; status: number };
    assert.equal(line.level, 40, "warn");
    assert.match(line.webhook_id, /^msg_outage_/);
    assert.equal(line.remote, "127.0.0.1");
    await redis.start();
    await waitFor("ready again", async () => (await fetch(`${replica.url}/readyz`)).status === 200, 20_000);
    assert.equal(await deliver([replica.port], "msg_after_outage", 0), "accepted");
  } finally {
    await replica.kill("SIGKILL");
    await redis.kill();
  }
}, 60_000);

test("METRICS_PORT: /metrics on its own listener with process and runtime metrics; the webhook port answers 404 for it", async () => {
  const metricsPort = await freePort();
  const secretsFile = join(work, "secrets");
  writeFileSync(secretsFile, secret);
  const replica = new Replica(await freePort(), { WEBHOOK_SIGNING_SECRETS_FILE: secretsFile, METRICS_PORT: String(metricsPort), METRICS_HOST: "127.0.0.1", LOG_LEVEL: "warn" });
  await replica.start();
  try {
    assert.equal((await fetch(`${replica.url}/metrics`)).status, 404);
    writeFileSync(secretsFile, "whsec_" + "ab".repeat(32)); // hex: refused, the old secret stays
    await waitFor("a failed reload counted", async () => (await metric(`http://127.0.0.1:${metricsPort}/metrics`, 'gemini_webhook_secrets_reload_total{outcome="failed"}')) === 1);
    assert.equal(await deliver([replica.port], "msg_after_bad_reload", 0), "accepted");
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes", "nodejs_eventloop_lag_seconds", "gemini_webhook_deliveries_total", "gemini_webhook_dead_letters", "gemini_webhook_handler_timeouts_total"]) {
      assert.ok(text.includes(`\n${name}`) || text.startsWith(name), `${name} is exported`);
    }
    assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/webhooks/gemini`, { method: "POST" })).status, 404, "the metrics listener serves nothing else");
    assert.ok(!text.includes(secret.slice(6, 20)));
  } finally {
    await replica.kill("SIGKILL");
  }
}, 60_000);

test("REDIS_KEY_PREFIX keeps two environments on one Redis apart", async () => {
  const redis = await RedisServer.start();
  const staging = new Replica(await freePort(), { WEBHOOK_SIGNING_SECRETS: secret, REDIS_URL: redis.url, REDIS_KEY_PREFIX: "staging:", LOG_LEVEL: "warn" });
  const production = new Replica(await freePort(), { WEBHOOK_SIGNING_SECRETS: secret, REDIS_URL: redis.url, REDIS_KEY_PREFIX: "production:", LOG_LEVEL: "warn" });
  await Promise.all([staging.start(), production.start()]);
  try {
    assert.equal(await deliver([staging.port], "msg_same_id", 0), "accepted");
    assert.equal(await deliver([production.port], "msg_same_id", 0), "accepted", "not a duplicate of the other environment's");
    assert.equal(await deliver([production.port], "msg_same_id", 0), "duplicate");
    const client = new Redis(redis.url);
    const keys = (await client.keys("*")).sort();
    client.disconnect();
    assert.ok(keys.every((k) => k.startsWith("staging:") || k.startsWith("production:")), keys.join(" "));
  } finally {
    await Promise.all([staging.kill("SIGKILL"), production.kill("SIGKILL")]);
    await redis.kill();
  }
}, 60_000);

test("configuration mistakes stop start-up with exit 2, naming the variable (and the closest known one); Kubernetes service variables are not mistakes", async () => {
  const run = (env: Record<string, string>) =>
    execFileAsync(process.execPath, [RECEIVER_CLI], { env: { PATH: process.env.PATH, PORT: "0", ...env }, timeout: 10_000 }).then(
      () => ({ code: 0, stderr: "" }),
      (err: { code: number; stderr: string }) => ({ code: err.code, stderr: err.stderr }),
    );
  const typo = await run({ WEBHOOK_SIGNING_SECRETS: secret, WEBHOOK_SIGNING_SECRET: secret });
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /WEBHOOK_SIGNING_SECRET is not a receiver variable \(did you mean WEBHOOK_SIGNING_SECRETS\?\)/);
  assert.ok(!typo.stderr.includes(secret.slice(6)), "the value is never echoed");
  const timeout = await run({ WEBHOOK_SIGNING_SECRETS: secret, HANDLER_TIMEOUT: "5000" });
  assert.match(timeout.stderr, /HANDLER_TIMEOUT is not a receiver variable \(did you mean HANDLER_TIMEOUT_MS\?\)/);
  const order = await run({ WEBHOOK_SIGNING_SECRETS: secret, HANDLER_TIMEOUT_MS: "60000", HANDLER_VISIBILITY_TIMEOUT_MS: "30000" });
  assert.match(order.stderr, /HANDLER_VISIBILITY_TIMEOUT_MS \(30000\) must be greater than HANDLER_TIMEOUT_MS \(60000\)/);
  const hex = await run({ WEBHOOK_SIGNING_SECRETS: `${secret} whsec_${"0f".repeat(32)}` });
  assert.equal(hex.code, 2);
  assert.match(hex.stderr, /WEBHOOK_SIGNING_SECRETS: entry #2 of 2 is hex after whsec_/);
  assert.ok(!hex.stderr.includes("0f0f0f"));

  // A Service named "redis" in the namespace injects these; they must not stop the receiver.
  const port = await freePort();
  const child = spawn(process.execPath, [RECEIVER_CLI], {
    env: { PATH: process.env.PATH, PORT: String(port), HOST: "127.0.0.1", WEBHOOK_SIGNING_SECRETS: secret, REDIS_PORT: "tcp://10.0.0.7:6379", REDIS_SERVICE_HOST: "10.0.0.7", REDIS_PORT_6379_TCP_ADDR: "10.0.0.7" },
    stdio: "ignore",
  });
  try {
    await waitFor("the receiver with service variables to be ready", async () => (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200, 10_000);
  } finally {
    child.kill("SIGTERM");
    await once(child, "exit");
  }
}, 60_000);

test("started through npx, the server does not outlive the launcher: SIGTERM to npm frees the port", async () => {
  const port = await freePort();
  const launcher = spawn("npm", ["exec", "--no", "--", "gemini-webhooks-receiver"], {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", WEBHOOK_SIGNING_SECRETS: secret, LOG_LEVEL: "info" },
    stdio: "ignore",
  });
  await waitFor("the receiver under npx to be ready", async () => (await fetch(`http://127.0.0.1:${port}/livez`).catch(() => undefined))?.status === 200, 30_000);
  launcher.kill("SIGTERM");
  await once(launcher, "exit");
  await waitFor("the port to be free", async () => !(await fetch(`http://127.0.0.1:${port}/livez`).catch(() => undefined)), 3_000);
}, 60_000);

test("a Redis with a password: REDIS_PASSWORD is used, and a wrong one (in the URL or the variable) is named as an authentication failure in the log and by the CLI, without the password", async () => {
  const redis = await RedisServer.start({ args: ["--requirepass", "right-horse-battery"] });
  const host = `127.0.0.1:${redis.port}`;
  const wrong: Record<string, string>[] = [
    { REDIS_URL: `redis://:wrong-staple-one@${host}` },
    { REDIS_URL: `redis://${host}`, REDIS_PASSWORD: "wrong-staple-two" },
  ];
  try {
    for (const redisEnv of wrong) {
      const env = { WEBHOOK_SIGNING_SECRETS: secret, LOG_LEVEL: "info", ...redisEnv };
      const replica = new Replica(await freePort(), env);
      await replica.start("/livez");
      const answer = await fetch(`${replica.url}/webhooks/gemini`, signed("msg_wrong_password"));
      assert.equal(answer.status, 503);
      assert.equal((await fetch(`${replica.url}/readyz`)).status, 503);
      const cli = await execFileAsync(process.execPath, [RECEIVER_CLI, "dead-letters", "list"], { env: { PATH: process.env.PATH, ...env } }).catch((err: { stderr: string; code: number }) => err);
      await replica.kill("SIGTERM");
      const said = replica.log + JSON.stringify(cli) + (await answer.text());
      assert.match(replica.log, /redis unreachable/);
      assert.match(replica.log, new RegExp(`"redis":"${host}"`));
      assert.match(replica.log, /authentication failed: Redis refused the credentials — check REDIS_PASSWORD/);
      assert.match(JSON.stringify(cli), /cannot use Redis at 127\.0\.0\.1:\d+: authentication failed: Redis refused the credentials/);
      for (const leaked of ["wrong-staple", "right-horse"]) assert.ok(!said.includes(leaked), `the password is in: ${said.slice(0, 400)}`);
    }
    const env = { WEBHOOK_SIGNING_SECRETS: secret, LOG_LEVEL: "warn", REDIS_URL: `redis://${host}`, REDIS_PASSWORD: "right-horse-battery" };
    const replica = new Replica(await freePort(), env);
    await replica.start();
    assert.equal(await deliver([replica.port], "msg_right_password", 0), "accepted");
    assert.match(await deadLetters(env, "list"), /^0 dead letters/);
    await replica.kill("SIGTERM");
  } finally {
    await redis.kill();
  }
}, 90_000);
