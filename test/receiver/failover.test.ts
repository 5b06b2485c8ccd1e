/**
 * lane: full (Redis Sentinel)
 * The receiver on a master with a replica and three sentinels (real redis-server processes): three
 * receiver replicas (the CLI) take 2,000 deliveries; mid-run the replication link stalls for 300 ms
 * (the replica falls behind, as on a slow link) and the master is SIGKILLed at the end of the stall; the sentinels promote the replica, the receivers follow, the old master comes back as a
 * replica. With REDIS_WAIT_REPLICAS=1 every delivery answered 200 is handled; without it, what the
 * master answered during the replica's lag and had not handled yet is lost — and nothing else.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Redis from "ioredis";
import { freePort } from "../../scripts/free-port";
import { waitFor } from "../../scripts/wait-for";
import { RedisServer } from "../support/redis-server";
import { ask, SentinelSet, startSentinelSet } from "../support/redis-topologies";
import { HANDLER, Replica, runs, secret, sendAll, signed, sleep } from "../support/replicas";

const work = mkdtempSync(join(tmpdir(), "gemini-failover-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface FailoverRun {
  answers: Map<string, string>;
  /** When each delivery was answered 200 (ms since the epoch). */
  answeredAt: Map<string, number>;
  killedAt: number;
  /** When the replica stopped taking the master's writes. */
  stalledAt: number;
  /** From the kill to the sentinels naming the new master. */
  failoverMs: number;
  /** /readyz answers of one receiver replica between the kill and the promotion. */
  readiness: number[];
  record: string;
  ids: string[];
  replicas: Replica[];
  set: SentinelSet;
}

async function failoverRun(label: string, extra: Record<string, string>): Promise<FailoverRun> {
  const dir = mkdtempSync(join(work, `${label}-`));
  const set = await startSentinelSet(dir);
  const record = join(dir, "runs.log");
  writeFileSync(record, "");
  const env = {
    WEBHOOK_SIGNING_SECRETS: secret,
    REDIS_SENTINELS: set.sentinelsVariable,
    REDIS_SENTINEL_NAME: set.name,
    HANDLER_MODULE: HANDLER,
    HANDLER_VISIBILITY_TIMEOUT_MS: "1500",
    HANDLER_TIMEOUT_MS: "1000",
    RECORD_WORK_MS: "40", // slower than the senders: a backlog in the stream when the master dies
    RECORD_FILE: record,
    LOG_LEVEL: "warn",
    ...extra,
  };
  const replicas = await Promise.all([0, 1, 2].map(async () => new Replica(await freePort(), env)));
  await Promise.all(replicas.map((r) => r.start()));
  const ids = Array.from({ length: 2000 }, (_, i) => `msg_f${i}_${randomBytes(3).toString("hex")}`);
  const answeredAt = new Map<string, number>();
  let killedAt = 0;
  let stalledAt = 0;
  let failover: Promise<number> | undefined;
  const readiness: number[] = [];
  const answers = await sendAll(replicas.map((r) => r.port), ids, 24, async (n) => {
    if (n >= 700 && !failover) {
      failover = (async () => {
        // The handlers hold off from the stall until the new master is named: what is answered during
        // the replica's lag is still in the stream (never handled) when the master dies — the window is
        // exercised however fast a handler would otherwise have been.
        writeFileSync(`${record}.paused`, "");
        // Everything answered before `stalledAt` is on the replica before the link stalls: a write of
        // our own, then WAIT for the replica to hold it — replication is one ordered stream, so every
        // write the master applied before ours is there too. (Without this, on a loaded machine the
        // replica's own lag reaches back before the stall.)
        stalledAt = Date.now();
        const marker = new Redis(set.master.port, { lazyConnect: true });
        try {
          await marker.connect();
          await marker.set("failover-marker", String(stalledAt));
          assert.equal(await marker.call("WAIT", 1, 10_000), 1, "the replica confirmed what came before the stall");
        } finally {
          marker.disconnect();
        }
        set.link.stall();
        await sleep(300);
        killedAt = Date.now();
        await set.master.kill("SIGKILL");
        await waitFor("the sentinels to promote the replica", async () => {
          readiness.push(await fetch(`${replicas[0].url}/readyz`).then((r) => r.status, () => 0));
          return (await set.masterPort().catch(() => 0)) === set.replica.port;
        }, 30_000, 50);
        const ms = Date.now() - killedAt;
        rmSync(`${record}.paused`, { force: true });
        // The old master comes back as a replica of the new one (as Sentinel reconfigures it), empty.
        set.master.options = { ...set.master.options, args: ["--replicaof", "127.0.0.1", String(set.replica.port)] };
        await set.master.start();
        return ms;
      })();
    }
  }, secret, (id) => answeredAt.set(id, Date.now()));
  assert.ok(failover, "the master was killed");
  const failoverMs = await failover;
  return { answers, answeredAt, killedAt, stalledAt, failoverMs, readiness, record, ids, replicas, set };
}

/** What the new master holds of deliveries not handled, and what the receivers said: for a failure's message. */
async function diagnose(run: FailoverRun, lost: string[]): Promise<string> {
  const port = await run.set.masterPort().catch(() => 0);
  const entries = await ask<[string, string[]][]>(port, "XRANGE", "gemini-webhooks:{p0}:events", "-", "+").catch(() => []);
  const facts = await Promise.all(
    lost.slice(0, 5).map(async (id) => {
      const seen = await ask<number>(port, "EXISTS", `gemini-webhooks:seen:${id}`).catch(() => -1);
      const entry = entries.find(([, fields]) => fields[1]?.includes(`\n${id}\n`));
      return `${id}: answered ${run.answers.get(id)} at ${run.answeredAt.get(id)! - run.killedAt} ms from the kill; seen key ${seen}; entry ${entry?.[0] ?? "none"}`;
    }),
  );
  const pending = await ask<unknown>(port, "XPENDING", "gemini-webhooks:{p0}:events", "receivers").catch((e) => String(e));
  return [`${lost.length} lost; master :${port}`, ...facts, `pending: ${JSON.stringify(pending)}`, ...run.replicas.map((r) => r.log.slice(-1500))].join("\n");
}

/**
 * Deliveries answered 200 and never handled, once nothing is left to handle: every id handled, or the
 * new master's stream empty with nothing pending (a condition read from Redis — a quiet spell of a
 * loaded machine is not mistaken for the end).
 */
async function lostAfterQuiet(run: FailoverRun): Promise<string[]> {
  await waitFor("every delivery handled, or the stream drained", async () => {
    if (runs(run.record).done.size === run.ids.length) return true;
    const port = await run.set.masterPort().catch(() => 0);
    if (!port) return false;
    const backlog = await ask<number>(port, "XLEN", "gemini-webhooks:{p0}:events").catch(() => -1);
    const pending = await ask<[number]>(port, "XPENDING", "gemini-webhooks:{p0}:events", "receivers").catch(() => [-1]);
    return backlog === 0 && pending[0] === 0;
  }, 120_000, 200);
  const { done } = runs(run.record);
  return run.ids.filter((id) => !done.has(id));
}

test("Sentinel failover with REDIS_WAIT_REPLICAS=1: the master SIGKILLed mid-run, every delivery answered 200 is handled by the new master's workers", async () => {
  const run = await failoverRun("wait", { REDIS_WAIT_REPLICAS: "1", REDIS_WAIT_TIMEOUT_MS: "500" });
  assert.equal(run.answers.size, 2000, "every delivery answered 200 in the end");
  const lost = await lostAfterQuiet(run);
  const { done } = runs(run.record);
  const twice = run.ids.filter((id) => done.get(id)! > 1).length;
  const duplicates = [...run.answers.values()].filter((a) => a === "duplicate").length;
  console.log(`sentinel failover, REDIS_WAIT_REPLICAS=1: replica stalled ${run.killedAt - run.stalledAt} ms, then the master killed; new master named ${run.failoverMs} ms after the kill; 2000 answered 200, ${lost.length} lost, ${duplicates} answered "duplicate" (retries of accepts that had landed), ${twice} handled twice (acknowledgements lost with the old master)`);
  assert.deepEqual(lost, [], await diagnose(run, lost));
  assert.ok(run.readiness.includes(503), `not ready while no master was reachable: ${run.readiness.join(" ")}`);
  // Ready once the new master has a replica online again (REDIS_WAIT_REPLICAS=1): a condition, waited
  // for — on a loaded machine the replication link can be down for a moment after the run (stress run 16).
  await waitFor("ready again on the new master", async () => (await fetch(`${run.replicas[0].url}/readyz`)).status === 200, 30_000, 200);
  await Promise.all(run.replicas.map((r) => r.kill("SIGTERM")));
}, 240_000);

test("Sentinel failover without REDIS_WAIT_REPLICAS: the receivers follow the new master; deliveries answered while the replica lagged (and not yet handled) are lost, and nothing else", async () => {
  const run = await failoverRun("nowait", {});
  assert.equal(run.answers.size, 2000);
  const lost = await lostAfterQuiet(run);
  const outsideLag = lost.filter((id) => run.answeredAt.get(id)! < run.stalledAt);
  const inLag = run.ids.filter((id) => run.answeredAt.get(id)! >= run.stalledAt && run.answeredAt.get(id)! <= run.killedAt).length;
  console.log(`sentinel failover, no WAIT: new master named ${run.failoverMs} ms after the kill; ${inLag} deliveries answered 200 during the replica's ${run.killedAt - run.stalledAt} ms lag, ${lost.length} of 2000 answered 200 and lost, ${outsideLag.length} of them answered before the lag began`);
  assert.ok(lost.length > 0, "the replica's lag lost nothing: the window was not exercised");
  assert.deepEqual(outsideLag, [], "only deliveries answered during the replica's lag may be lost");
  await Promise.all(run.replicas.map((r) => r.kill("SIGTERM")));
}, 240_000);

test("REDIS_WAIT_REPLICAS with no replica attached: 503 not_replicated and not ready, and the retry is answered once a replica holds the event", async () => {
  const master = await RedisServer.start();
  const replica = new Replica(await freePort(), { WEBHOOK_SIGNING_SECRETS: secret, REDIS_URL: master.url, REDIS_WAIT_REPLICAS: "1", REDIS_WAIT_TIMEOUT_MS: "1000", LOG_LEVEL: "warn" });
  await replica.start("/livez"); // never ready without a replica
  const first = await fetch(`${replica.url}/webhooks/gemini`, signed("msg_unreplicated"));
  assert.equal(first.status, 503);
  assert.deepEqual(await first.json(), { error: "not_replicated" });
  // Known short of replicas (the probe's INFO replication): not ready, and said why.
  await waitFor("not ready as not_replicated", async () => ((await (await fetch(`${replica.url}/readyz`)).json()) as { handoff: string }).handoff === "not_replicated", 5_000, 100);
  const follower = await RedisServer.start({ args: ["--replicaof", "127.0.0.1", String(master.port)] });
  try {
    await waitFor("the retry answered", async () => (await fetch(`${replica.url}/webhooks/gemini`, signed("msg_unreplicated"))).status === 200, 20_000, 200);
    assert.equal((await fetch(`${replica.url}/readyz`)).status, 200);
    const again = await fetch(`${replica.url}/webhooks/gemini`, signed("msg_unreplicated"));
    assert.deepEqual(await again.json(), { status: "duplicate" });
    const metrics = await (await fetch(`${replica.url}/metrics`)).text();
    assert.match(metrics, /gemini_webhook_deliveries_total\{outcome="not_replicated"[^}]*\} [1-9]/);
  } finally {
    await replica.kill("SIGTERM");
    await follower.kill();
    await master.kill();
  }
}, 60_000);

test("Sentinel with passwords on the sentinels and the data nodes: REDIS_SENTINEL_PASSWORD and REDIS_PASSWORD are used; a wrong one is refused without being echoed", async () => {
  const dir = mkdtempSync(join(work, "auth-"));
  const set = await startSentinelSet(dir, { password: "data-node-pass-7", sentinelPassword: "sentinel-pass-9" });
  const base = { WEBHOOK_SIGNING_SECRETS: secret, REDIS_SENTINELS: set.sentinelsVariable, REDIS_SENTINEL_NAME: set.name, LOG_LEVEL: "info" };
  const right = new Replica(await freePort(), { ...base, REDIS_PASSWORD: "data-node-pass-7", REDIS_SENTINEL_PASSWORD: "sentinel-pass-9" });
  await right.start();
  assert.equal((await fetch(`${right.url}/webhooks/gemini`, signed("msg_auth_ok"))).status, 200);
  await right.kill("SIGTERM");
  for (const wrong of [{ REDIS_PASSWORD: "data-node-pass-7", REDIS_SENTINEL_PASSWORD: "wrong-sentinel-pass" }, { REDIS_PASSWORD: "wrong-data-pass", REDIS_SENTINEL_PASSWORD: "sentinel-pass-9" }]) {
    const replica = new Replica(await freePort(), { ...base, ...wrong, REDIS_FAILOVER_WAIT_MS: "500" });
    await replica.start("/livez");
    const answer = await fetch(`${replica.url}/webhooks/gemini`, signed("msg_auth_wrong"));
    assert.equal(answer.status, 503);
    assert.equal((await fetch(`${replica.url}/readyz`)).status, 503);
    await replica.kill("SIGTERM");
    assert.match(replica.log, /redis unreachable/);
    for (const pass of ["data-node-pass", "sentinel-pass", "wrong-"]) assert.ok(!replica.log.includes(pass), `a password in the log: ${replica.log.slice(0, 300)}`);
  }
}, 120_000);
