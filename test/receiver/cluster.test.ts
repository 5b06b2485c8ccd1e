/**
 * lane: full (Redis Cluster)
 * The receiver on a 3-master Redis Cluster (real redis-server processes, `redis-cli --cluster
 * create`, appendfsync always) with REDIS_STREAM_PARTITIONS=3: each partition's keys share a hash
 * tag (the accept script runs on one slot) and the partitions land on three different masters.
 * Three receiver replicas take 2,000 deliveries while one master is SIGKILLed and restarted mid-run:
 * every delivery answered 200 is handled.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "../../scripts/free-port";
import { RECEIVER_CLI } from "../../scripts/paths";
import { waitFor } from "../../scripts/wait-for";
import { ask, startCluster, startTlsCluster } from "../support/redis-topologies";
import { deliver, HANDLER, Replica, runs, secret, sendAll, signed, sleep } from "../support/replicas";

const work = mkdtempSync(join(tmpdir(), "gemini-cluster-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A partition's keys as the receiver names them (docs/receiver.md): `<prefix>{<tag>}:events`, … */
async function partitionStreams(port: number): Promise<string[]> {
  const keys: string[] = [];
  let cursor = "0";
  do {
    const [next, found] = await ask<[string, string[]]>(port, "SCAN", cursor, "MATCH", "gemini-webhooks:{*}:events", "COUNT", 1000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== "0");
  return keys;
}

test("a 3-master Cluster, 3 partitions: one partition per master; 2,000 deliveries with a master SIGKILLed and restarted mid-run, every delivery answered 200 handled", async () => {
  const cluster = await startCluster(join(work, "c1"), 3, "always");
  const record = join(work, "cluster.log");
  writeFileSync(record, "");
  const env = {
    WEBHOOK_SIGNING_SECRETS: secret,
    REDIS_CLUSTER_NODES: cluster.nodesVariable,
    REDIS_STREAM_PARTITIONS: "3",
    HANDLER_MODULE: HANDLER,
    HANDLER_VISIBILITY_TIMEOUT_MS: "1500",
    HANDLER_TIMEOUT_MS: "1000",
    RECORD_WORK_MS: "20",
    RECORD_FILE: record,
    LOG_LEVEL: "warn",
  };
  const replicas = await Promise.all([0, 1, 2].map(async () => new Replica(await freePort(), env)));
  await Promise.all(replicas.map((r) => r.start()));
  try {
    // Where the partitions live: each stream on its own master, its keys in its slot.
    let streams: string[] = [];
    await waitFor("the three partition streams", async () => {
      streams = [...new Set((await Promise.all(cluster.nodes.map((n) => partitionStreams(n.port)))).flat())].sort(); // masters and their replicas
      return streams.length === 3;
    }, 20_000, 100);
    const owners = await Promise.all(streams.map(async (key) => cluster.portOfSlot(await ask<number>(cluster.nodes[0].port, "CLUSTER", "KEYSLOT", key))));
    assert.equal(new Set(owners).size, 3, `the partitions' masters: ${owners.join(", ")}`);

    const ids = Array.from({ length: 2000 }, (_, i) => `msg_c${i}_${randomBytes(3).toString("hex")}`);
    const victim = cluster.nodes[1];
    let restarted: Promise<void> | undefined;
    const answers = await sendAll(replicas.map((r) => r.port), ids, 24, async (n) => {
      if (n >= 700 && !restarted) restarted = victim.kill("SIGKILL").then(() => sleep(1_000)).then(() => victim.start());
    });
    assert.ok(restarted, "a master was restarted");
    await restarted;
    assert.equal(answers.size, 2000);
    await waitFor("every delivery answered 200 handled", () => runs(record).done.size === 2000, 90_000);
    const { done } = runs(record);
    const lost = ids.filter((id) => !done.has(id));
    const duplicates = [...answers.values()].filter((a) => a === "duplicate").length;
    const twice = ids.filter((id) => done.get(id)! > 1).length;
    console.log(`cluster: 3 masters, 3 partitions (${streams.join(", ")} on :${owners.join(", :")}); master :${victim.port} SIGKILLed after 700 answers and restarted 1 s later; 2000 answered 200, ${lost.length} lost, ${duplicates} answered "duplicate", ${twice} handled twice`);
    assert.deepEqual(lost, []);

    // The same webhook id again: its partition's dedup key still holds it.
    assert.equal(await deliver([replicas[0].port], ids[0], 0), "duplicate");
  } finally {
    await Promise.all(replicas.map((r) => r.kill("SIGTERM")));
  }
}, 300_000);

test("dead letters on a Cluster with partitions: listed over every partition, shown, replayed and dropped by their partition-qualified id", async () => {
  const cluster = await startCluster(join(work, "c2"), 3);
  const failing = join(work, "failing-handler.js");
  writeFileSync(failing, `exports.handle = async (event) => { throw new Error("no database for " + event.webhookId); };`);
  const env = {
    WEBHOOK_SIGNING_SECRETS: secret,
    REDIS_CLUSTER_NODES: cluster.nodesVariable.split(",")[0], // one node is enough: the others are discovered
    REDIS_STREAM_PARTITIONS: "3",
    HANDLER_MODULE: failing,
    HANDLER_MAX_ATTEMPTS: "1",
    LOG_LEVEL: "error",
  };
  const replica = new Replica(await freePort(), env);
  await replica.start();
  const cli = (...args: string[]) => promisify(execFile)(process.execPath, [RECEIVER_CLI, "dead-letters", ...args], { env: { PATH: process.env.PATH, ...env } }).then((r) => r.stdout);
  try {
    const ids = Array.from({ length: 12 }, (_, i) => `msg_dl${i}`);
    await sendAll([replica.port], ids, 4);
    await waitFor("twelve dead letters", async () => (JSON.parse(await cli("list", "--json")) as unknown[]).length === 12, 60_000, 200).catch(async (err: Error) => {
      // Where the missing ones are: each partition stream's length and its group's pending entries by consumer.
      const pending: string[] = [];
      for (const node of cluster.nodes) {
        for (const stream of await partitionStreams(node.port)) {
          const summary = await ask<unknown>(node.port, "XPENDING", stream, "receivers").catch((e: Error) => e.message);
          pending.push(`${stream} on :${node.port}: length ${await ask<number>(node.port, "XLEN", stream)}, pending ${JSON.stringify(summary)}`);
        }
      }
      throw new Error(`${err.message}; the CLI lists:\n${await cli("list").catch((e: Error) => e.message)}\nthe streams:\n${pending.join("\n")}\nthe replica's log:\n${replica.log.slice(-3000)}`);
    });
    const listed = JSON.parse(await cli("list", "--json")) as { id: string; webhookId: string }[];
    const partitions = new Set(listed.map((l) => /^p(\d)\//.exec(l.id)?.[1]));
    assert.equal(partitions.size, 3, `dead letters in every partition: ${listed.map((l) => l.id).join(" ")}`);
    assert.deepEqual(listed.map((l) => l.webhookId).sort(), [...ids].sort());
    const [first, second] = listed;
    assert.equal((JSON.parse(await cli("show", first.id)) as { webhookId: string }).webhookId, first.webhookId);
    assert.equal((await cli("drop", second.id)).trim(), `dropped ${second.id}`);
    assert.match(await cli("replay", "--all", "--by", "oncall"), /replayed 11 dead letters/);
    await assert.rejects(cli("show", "1764430000000-0"), /is not a dead-letter id \(they look like p0\/1764430000000-0/);
  } finally {
    await replica.kill("SIGTERM");
  }
}, 120_000);

test("REDIS_WAIT_REPLICAS on a Cluster with replicas: the WAIT follows each partition's script to that partition's master — a stalled replica holds back only its master's partition", async () => {
  const cluster = await startCluster(join(work, "c3"), 3, undefined, 1);
  const env = { WEBHOOK_SIGNING_SECRETS: secret, REDIS_CLUSTER_NODES: cluster.nodesVariable, REDIS_STREAM_PARTITIONS: "3", REDIS_WAIT_REPLICAS: "1", REDIS_WAIT_TIMEOUT_MS: "300", LOG_LEVEL: "error" };
  const replica = new Replica(await freePort(), env);
  await replica.start();
  let streams: string[] = [];
  await waitFor("the three partition streams", async () => {
    streams = [...new Set((await Promise.all(cluster.nodes.map((n) => partitionStreams(n.port)))).flat())].sort(); // masters and their replicas
    return streams.length === 3;
  }, 20_000, 100);
  const slot = await ask<number>(cluster.nodes[0].port, "CLUSTER", "KEYSLOT", streams[0]);
  const master = await cluster.portOfSlot(slot);
  const [stalled] = await cluster.replicasOf(master);
  const stalledNode = cluster.nodes.find((n) => n.port === stalled)!;
  stalledNode.child!.kill("SIGSTOP"); // its master's WAIT cannot be satisfied; the others can
  try {
    const ids = Array.from({ length: 30 }, (_, i) => `msg_w${i}`);
    const statuses = await Promise.all(ids.map(async (id) => [id, (await fetch(`${replica.url}/webhooks/gemini`, signed(id))).status] as const));
    const refused = statuses.filter(([, status]) => status === 503).map(([id]) => id).sort();
    const accepted = statuses.filter(([, status]) => status === 200).map(([id]) => id);
    assert.equal(refused.length + accepted.length, 30);
    assert.ok(refused.length > 0 && accepted.length > 0, `${refused.length} refused, ${accepted.length} accepted`);
    stalledNode.child!.kill("SIGCONT");
    await sendAll([replica.port], refused, 4); // the sender's retries, once the replica has caught up
    // Every refused delivery belongs to the stalled replica's master's partition, and only those do.
    const seen = streams[0].replace(/events$/, "seen:"); // that partition's dedup keys (the stream itself is drained by the handler)
    const inPartition: string[] = [];
    for (const id of ids) if ((await ask<number>(master, "EXISTS", `${seen}${id}`)) === 1) inPartition.push(id);
    assert.deepEqual(inPartition.sort(), refused, "the partition on the stalled replica's master holds exactly the deliveries refused");
    console.log(`cluster + WAIT: replica :${stalled} of master :${master} stalled: ${refused.length} of 30 deliveries (that master's partition) answered 503 not_replicated, ${accepted.length} (the other partitions) 200`);
  } finally {
    stalledNode.child!.kill("SIGCONT");
    await replica.kill("SIGTERM");
  }
}, 120_000);

test("REDIS_TLS on a Cluster that speaks TLS only: with the operator's CA (NODE_EXTRA_CA_CERTS) deliveries are accepted and handled; without it nothing is accepted and the replica still stops at once", async () => {
  const dir = join(work, "tls");
  mkdirSync(dir, { recursive: true });
  const cluster = await startTlsCluster(dir, 3);
  const record = join(dir, "runs.log");
  writeFileSync(record, "");
  const env = { WEBHOOK_SIGNING_SECRETS: secret, REDIS_CLUSTER_NODES: cluster.nodesVariable, REDIS_TLS: "true", REDIS_STREAM_PARTITIONS: "3", HANDLER_MODULE: HANDLER, RECORD_FILE: record, LOG_LEVEL: "info" };
  const untrusted = new Replica(await freePort(), env);
  await untrusted.start("/livez");
  const refused = await fetch(`${untrusted.url}/webhooks/gemini`, signed("msg_tls_untrusted"));
  assert.equal(refused.status, 503);
  assert.equal((await fetch(`${untrusted.url}/readyz`)).status, 503);
  const stopped = await untrusted.kill("SIGTERM");
  assert.equal(stopped.code, 0);
  assert.ok(stopped.ms < 5_000, `a replica whose Redis is unreachable stopped in ${stopped.ms} ms (the backstop is at SHUTDOWN_TIMEOUT_MS + 0.9 s)`);
  // ioredis does not pass a Cluster node's TLS error up ("Connection is closed."): the log names the cluster.
  assert.match(untrusted.log, /"redis":"cluster 127\.0\.0\.1:\d+[^"]*","msg":"redis unreachable/);

  const trusted = new Replica(await freePort(), { ...env, NODE_EXTRA_CA_CERTS: cluster.ca });
  await trusted.start();
  try {
    const ids = Array.from({ length: 30 }, (_, i) => `msg_tls${i}`);
    const answers = await sendAll([trusted.port], ids, 6);
    // Every delivery answered 200: "accepted", or — when a loaded machine made an accept's answer late
    // and the sender retried it — "duplicate" (the first one landed). Each is handled once either way.
    assert.equal([...answers.values()].filter((a) => a !== "accepted" && a !== "duplicate").length, 0, JSON.stringify([...answers]));
    assert.ok([...answers.values()].filter((a) => a === "accepted").length >= 25, JSON.stringify([...answers]));
    await waitFor("the deliveries handled over TLS", () => runs(record).done.size === 30, 20_000);
  } finally {
    await trusted.kill("SIGTERM");
  }
}, 120_000);
