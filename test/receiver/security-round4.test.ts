/**
 * lane: full (Redis, Redis Cluster)
 * Security round 4, the findings that need a real Redis, sent as the attacker sent them:
 * - a captured dynamic token without a `webhook_id` claim re-sent under fresh `webhook-id`s was
 *   handled once per partition (4 times at 4 partitions, 16 at 16);
 * - changing REDIS_STREAM_PARTITIONS (or replicas of different counts side by side in a rolling
 *   change, or the upgrade from 0.3's layout) forgot every dedup key of the last 25 h;
 * - one anonymous GET /metrics cost XLEN on every partition's streams (513 commands at 256);
 * - `dead-letters list` printed a delivery's type and a handler's error raw (ESC sequences), and
 *   `replay --by` stored control characters.
 * Each test fails on the code before its fix.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { createServer, Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Redis from "ioredis";
import { exportJWK, generateKeyPair, KeyLike, SignJWT } from "jose";
import { buildReceiver, loadConfig, Receiver } from "gemini-webhooks-receiver";
import { freePort } from "../../scripts/free-port";
import { RECEIVER_CLI } from "../../scripts/paths";
import { waitFor } from "../../scripts/wait-for";
import { RedisServer } from "../support/redis-server";
import { startCluster } from "../support/redis-topologies";

const work = mkdtempSync(join(tmpdir(), "gemini-round4-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const secret = "whsec_" + randomBytes(32).toString("base64");
const key = Buffer.from(secret.slice(6), "base64");
const now = () => Math.floor(Date.now() / 1000);
const envelope = () => JSON.stringify({ type: "batch.succeeded", version: "v1", timestamp: new Date().toISOString(), data: { id: "batches/" + randomBytes(4).toString("hex") } });

let jwks: { url: string; privateKey: KeyLike; server: Server };

beforeAll(async () => {
  const pair = await generateKeyPair("RS256", { extractable: true });
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  const server = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  jwks = { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, privateKey: pair.privateKey, server };
});
afterAll(() => new Promise<void>((resolve) => jwks?.server.close(() => resolve())));

interface Running {
  receiver: Receiver;
  base: string;
  handled: string[];
  close: () => Promise<void>;
}

/** A receiver in this process on real Redis: static and dynamic routes, handled events recorded by data id. */
async function start(redisEnv: Record<string, string>): Promise<Running> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const handled: string[] = [];
  const receiver = buildReceiver(
    loadConfig({
      WEBHOOK_SIGNING_SECRETS: secret,
      JWKS_URI: `${jwks.url}/jwks.json`,
      JWT_ISSUER: jwks.url,
      JWT_AUDIENCE: `${base}/webhooks/gemini/dynamic`,
      LOG_LEVEL: "silent",
      HANDLER_VISIBILITY_TIMEOUT_MS: "2000",
      HANDLER_TIMEOUT_MS: "1000",
      PORT: String(port),
      HOST: "127.0.0.1",
      ...redisEnv,
    }),
    { handler: async (event) => void handled.push(String(event.data.id)) },
  );
  await receiver.listen();
  return { receiver, base, handled, close: () => receiver.shutdown(2_000).then(() => undefined) };
}

function staticDelivery(id: string, body: string) {
  const ts = now();
  return {
    method: "POST",
    headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": "v1," + createHmac("sha256", key).update(`${id}.${ts}.${body}`).digest("base64") },
    body,
  };
}

async function post(url: string, init: RequestInit): Promise<{ status: number; body: { status?: string; error?: string } }> {
  const response = await fetch(url, init);
  return { status: response.status, body: (await response.json()) as { status?: string; error?: string } };
}

function token(base: string, body: string, claims: Record<string, unknown> = {}) {
  return new SignJWT({ body_sha256: createHash("sha256").update(body).digest("base64url"), ...claims })
    .setProtectedHeader({ alg: "RS256", kid: "k1" })
    .setIssuer(jwks.url)
    .setAudience(`${base}/webhooks/gemini/dynamic`)
    .setIssuedAt()
    .setExpirationTime(now() + 300)
    .sign(jwks.privateKey);
}

const dynamicDelivery = (id: string, body: string, jwt: string) => ({
  method: "POST",
  headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(now()), "webhook-signature": jwt },
  body,
});

describe("one Redis", () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await RedisServer.start({ dir: mkdtempSync(join(work, "redis-")) });
  });
  afterAll(() => redis?.kill());

  for (const partitions of [4, 16, 256]) {
    test(`a captured dynamic token without a webhook_id claim, re-sent under 40 fresh ids at ${partitions} partitions: handled once`, async () => {
      const running = await start({ REDIS_URL: redis.url, REDIS_STREAM_PARTITIONS: String(partitions), REDIS_KEY_PREFIX: `replay-${partitions}:` });
      try {
        const body = envelope();
        const jwt = await token(running.base, body); // no webhook_id claim: the header is the sender's to choose
        const answers = await Promise.all(
          Array.from({ length: 40 }, (_, i) => post(`${running.base}/webhooks/gemini/dynamic`, dynamicDelivery(`msg_replay_${i}_${randomBytes(3).toString("hex")}`, body, jwt))),
        );
        assert.equal(answers.filter((a) => a.body.status === "accepted").length, 1, JSON.stringify(answers.map((a) => a.body.status)));
        assert.equal(answers.filter((a) => a.body.status === "duplicate").length, 39);
        await waitFor("the one run", () => running.handled.length === 1, 10_000);
        await new Promise((resolve) => setTimeout(resolve, 300)); // nothing else is on its way: 39 duplicates were answered before
        assert.equal(running.handled.length, 1);
        // A token that binds its id: a retry under the same id is a duplicate too, and another id is refused.
        const bound = envelope();
        const boundJwt = await token(running.base, bound, { webhook_id: "msg_bound" });
        assert.equal((await post(`${running.base}/webhooks/gemini/dynamic`, dynamicDelivery("msg_bound", bound, boundJwt))).body.status, "accepted");
        assert.equal((await post(`${running.base}/webhooks/gemini/dynamic`, dynamicDelivery("msg_bound", bound, await token(running.base, bound, { webhook_id: "msg_bound" })))).body.status, "duplicate");
        assert.equal((await post(`${running.base}/webhooks/gemini/dynamic`, dynamicDelivery("msg_other", bound, boundJwt))).status, 401);
      } finally {
        await running.close();
      }
    }, 60_000);
  }

  test("REDIS_STREAM_PARTITIONS changed 1 → 4 → 7, and replicas of 1 and 3 side by side (a rolling change): every dedup key holds", async () => {
    const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: "change:" };
    const bodies = new Map(Array.from({ length: 8 }, (_, i) => [`msg_change_${i}`, envelope()] as const));
    let handled = 0;
    for (const partitions of ["1", "4", "7"]) {
      const running = await start({ ...env, REDIS_STREAM_PARTITIONS: partitions });
      try {
        const answers = await Promise.all([...bodies].map(([id, body]) => post(`${running.base}/webhooks/gemini`, staticDelivery(id, body))));
        const expected = partitions === "1" ? "accepted" : "duplicate";
        assert.deepEqual(answers.map((a) => a.body.status), Array(8).fill(expected), `at ${partitions} partitions`);
        if (partitions === "1") await waitFor("8 handled", () => running.handled.length === 8, 10_000);
        handled += running.handled.length;
      } finally {
        await running.close();
      }
    }
    assert.equal(handled, 8, "each event handled once across the three partition counts");

    // Two replicas at once, one at 1 partition and one at 3: each id sent to one and retried at the other.
    const [one, three] = await Promise.all([start({ ...env, REDIS_KEY_PREFIX: "mixed:", REDIS_STREAM_PARTITIONS: "1" }), start({ ...env, REDIS_KEY_PREFIX: "mixed:", REDIS_STREAM_PARTITIONS: "3" })]);
    try {
      const ids = Array.from({ length: 30 }, (_, i) => [`msg_mixed_${i}`, envelope()] as const);
      for (const [i, [id, body]] of ids.entries()) {
        const [first, second] = i % 2 ? [one, three] : [three, one];
        assert.equal((await post(`${first.base}/webhooks/gemini`, staticDelivery(id, body))).body.status, "accepted");
        assert.equal((await post(`${second.base}/webhooks/gemini`, staticDelivery(id, body))).body.status, "duplicate", `${id}'s retry at the other replica`);
      }
      await waitFor("30 handled", () => one.handled.length + three.handled.length === 30, 10_000);
    } finally {
      await Promise.all([one.close(), three.close()]);
    }
  }, 120_000);

  test("upgrade from 0.3: a retry of a delivery 0.3 accepted just before the upgrade is a duplicate (0.3's dedup keys are read as they are)", async () => {
    const client = new Redis(redis.url);
    try {
      // What 0.3 wrote when it accepted msg_before_upgrade: its dedup key in 0.3's layout.
      await client.set("upgrade:seen:msg_before_upgrade", "1", "EX", 90_000);
      const running = await start({ REDIS_URL: redis.url, REDIS_KEY_PREFIX: "upgrade:", REDIS_STREAM_PARTITIONS: "5" });
      try {
        assert.equal((await post(`${running.base}/webhooks/gemini`, staticDelivery("msg_before_upgrade", envelope()))).body.status, "duplicate");
        assert.equal((await post(`${running.base}/webhooks/gemini`, staticDelivery("msg_after_upgrade", envelope()))).body.status, "accepted");
        assert.equal(await client.exists("upgrade:seen:msg_after_upgrade"), 1, "this release writes the same key space");
      } finally {
        await running.close();
      }
    } finally {
      client.disconnect();
    }
  }, 60_000);

  test("dead-letters list/show print a delivery's and a handler's control characters escaped; replay --by refuses them", async () => {
    const handled: string[] = [];
    const port = await freePort();
    const env = { REDIS_URL: redis.url, REDIS_KEY_PREFIX: "escapes:" };
    const receiver = buildReceiver(loadConfig({ WEBHOOK_SIGNING_SECRETS: secret, LOG_LEVEL: "silent", HANDLER_MAX_ATTEMPTS: "1", PORT: String(port), HOST: "127.0.0.1", ...env }), {
      handler: async (event) => {
        handled.push(event.type);
        throw new Error("downstream said \u001b[2J\u001b[H\u001b]0;owned\u0007 and \u009b31m red \u202etxt.exe");
      },
    });
    await receiver.listen();
    try {
      const body = JSON.stringify({ type: "batch.succeeded\u001b[2J\u001b[1;1H\u001b[31mFAKE PROMPT$ \u009b0m\u2028", data: { id: "batches/esc" } });
      assert.equal((await post(`http://127.0.0.1:${port}/webhooks/gemini`, staticDelivery("msg_escape", body))).body.status, "accepted");
      await waitFor("the dead letter", async () => (await receiver.handoff.deadLetters()) === 1, 10_000);
    } finally {
      await receiver.shutdown(1_000);
    }
    const cli = (...args: string[]) => spawnSync(process.execPath, [RECEIVER_CLI, "dead-letters", ...args], { env: { PATH: process.env.PATH, ...env }, encoding: "utf8" });
    // eslint-disable-next-line no-control-regex -- what must never reach the terminal raw
    const raw = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
    const list = cli("list");
    assert.equal(list.status, 0, list.stderr);
    assert.doesNotMatch(list.stdout, raw, "list prints no raw control character");
    assert.match(list.stdout, /batch\.succeeded\\x1b\[2J/);
    assert.match(list.stdout, /downstream said \\x1b\[2J/);
    const id = list.stdout.split("\n")[1].split("  ")[0];
    for (const args of [["show", id], ["list", "--json"]]) {
      const shown = cli(...args);
      assert.equal(shown.status, 0, shown.stderr);
      assert.doesNotMatch(shown.stdout, raw, `${args[0]} prints no raw control character`);
      JSON.parse(shown.stdout); // still JSON
      assert.match(shown.stdout, /\\u009b/);
    }
    for (const by of ["ops\u001b[2J", "ops\u009b", "ops\u202e", "ops\r"]) {
      const replay = cli("replay", id, "--by", by);
      assert.equal(replay.status, 2, JSON.stringify(by));
      assert.match(replay.stderr, /--by must be printable text/);
    }
    const missing = cli("show", "1-1\u001b[2J");
    assert.doesNotMatch(missing.stderr, raw);
  }, 60_000);

  test("GET /metrics at 256 partitions, 200 times at once: at most one Redis round trip per partition per second", async () => {
    const running = await start({ REDIS_URL: redis.url, REDIS_STREAM_PARTITIONS: "256", REDIS_KEY_PREFIX: "scrape:" });
    const monitor = new Redis(redis.url);
    try {
      await new Promise((resolve) => setTimeout(resolve, 300)); // the readers' first blocking reads are out
      const before = Number(/total_commands_processed:(\d+)/.exec(await monitor.info("stats"))![1]);
      const started = Date.now();
      const scrapes = await Promise.all(Array.from({ length: 200 }, () => fetch(`${running.base}/metrics`).then((r) => r.text())));
      const elapsed = Date.now() - started;
      const after = Number(/total_commands_processed:(\d+)/.exec(await monitor.info("stats"))![1]);
      assert.ok(scrapes.every((text) => /^gemini_webhook_queue_depth 0$/m.test(text)), "every scrape reads the backlog");
      // 256 partitions × 2 XLEN per read (one pipeline each); the blocking readers add ~256 a second.
      const reads = Math.ceil(elapsed / 1000) + 1;
      const budget = reads * 512 + (Math.ceil(elapsed / 1000) + 2) * 256 * 2 + 10;
      console.log(`/metrics ×200 at 256 partitions: ${after - before} Redis commands in ${elapsed} ms (before the cache: 200 × 513 = 102,600)`);
      assert.ok(after - before <= budget, `${after - before} commands for 200 scrapes in ${elapsed} ms`);
    } finally {
      monitor.disconnect();
      await running.close();
    }
  }, 60_000);
});

describe("a Redis Cluster", () => {
  test("3 masters: a captured token under fresh ids at 3 partitions handled once; REDIS_STREAM_PARTITIONS 3 → 5 keeps every dedup key", async () => {
    const cluster = await startCluster(join(work, "cluster"), 3);
    try {
      const env = { REDIS_CLUSTER_NODES: cluster.nodesVariable };
      const first = await start({ ...env, REDIS_STREAM_PARTITIONS: "3" });
      const bodies = Array.from({ length: 12 }, (_, i) => [`msg_cluster_${i}`, envelope()] as const);
      try {
        const body = envelope();
        const jwt = await token(first.base, body);
        const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => post(`${first.base}/webhooks/gemini/dynamic`, dynamicDelivery(`msg_ctoken_${i}`, body, jwt))));
        assert.equal(answers.filter((a) => a.body.status === "accepted").length, 1, JSON.stringify(answers.map((a) => a.body.status ?? a.body.error)));
        for (const [id, b] of bodies) assert.equal((await post(`${first.base}/webhooks/gemini`, staticDelivery(id, b))).body.status, "accepted");
        await waitFor("13 handled", () => first.handled.length === 13, 15_000);
      } finally {
        await first.close();
      }
      const second = await start({ ...env, REDIS_STREAM_PARTITIONS: "5" });
      try {
        for (const [id, b] of bodies) assert.equal((await post(`${second.base}/webhooks/gemini`, staticDelivery(id, b))).body.status, "duplicate", `${id} after 3 → 5`);
        assert.equal((await post(`${second.base}/webhooks/gemini`, staticDelivery("msg_cluster_new", envelope()))).body.status, "accepted");
      } finally {
        await second.close();
      }
    } finally {
      await Promise.all(cluster.nodes.map((n) => n.kill()));
    }
  }, 120_000);
});
