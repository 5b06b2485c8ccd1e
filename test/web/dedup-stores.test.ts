/**
 * lane: full (runtimes from the npm registry, redis-server)
 * The portable verifier's dedup stores over each platform's real store, in the runtime that has it:
 * RedisDedup over a real redis-server from Node (ioredis) and from Bun (its built-in client),
 * DenoKvDedup over a Deno KV database in Deno, WorkersKvDedup over workerd's KV namespace binding. Each
 * verifier is handed one signed delivery 8 times (at once where the store is atomic), once more
 * later and a second delivery: the first is handled exactly once, the second once, and each key is
 * kept for the verifier's 25 h; after `forget` (the handling failed) the retry is handled.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Redis from "ioredis";
import { Webhook } from "standardwebhooks";
import { freePort } from "../../scripts/free-port";
import { REPO_ROOT } from "../../scripts/paths";
import { runtimeBins, RUNTIME_VERSIONS } from "../../scripts/runtimes";
import { waitFor } from "../../scripts/wait-for";
import { RedisServer } from "../support/redis-server";

const TTL = 25 * 3600;
const PREFIX = "gemini-webhooks:dedup:";
const work = mkdtempSync(join(tmpdir(), "gemini-dedup-"));
let bins: ReturnType<typeof runtimeBins>;
let redis: RedisServer;

beforeAll(async () => {
  bins = runtimeBins();
  redis = await RedisServer.start();
}, 300_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Two deliveries signed by the reference library, with ids of this run. */
function deliveries() {
  const secret = "whsec_" + randomBytes(32).toString("base64");
  const signed = (id: string) => {
    const body = JSON.stringify({ type: "batch.succeeded", data: { id } });
    const timestamp = new Date();
    const headers = { "webhook-id": id, "webhook-timestamp": String(Math.floor(timestamp.getTime() / 1000)), "webhook-signature": new Webhook(secret).sign(id, timestamp, body) };
    return { body, headers };
  };
  const run = randomBytes(6).toString("hex");
  return { secret, first: signed(`msg_${run}_1`), second: signed(`msg_${run}_2`) };
}

/** The user's project: the built module and the runtime's files, copied out of this repository. */
function project(): string {
  const dir = mkdtempSync(join(work, "project-"));
  copyFileSync(join(REPO_ROOT, "receiver", "dist", "web", "web.mjs"), join(dir, "web.mjs"));
  for (const file of readdirSync(join(__dirname, "dedup"))) copyFileSync(join(__dirname, "dedup", file), join(dir, file));
  return dir;
}

type Outcome = { copies: string[]; later: string; second: string; retried: string; stored?: unknown };

function assertOnce(outcome: Outcome, what: string): void {
  assert.deepEqual([...outcome.copies].sort(), ["accepted", ...Array(7).fill("duplicate")], `${what}: 8 copies, handled once`);
  assert.equal(outcome.later, "duplicate", `${what}: a copy later`);
  assert.equal(outcome.second, "accepted", `${what}: another delivery`);
  assert.equal(outcome.retried, "accepted", `${what}: the retry after verifier.forget (its handling failed)`);
}

const base = () => ({ PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" });

test("RedisDedup over a real redis-server: from Node (ioredis) and from Bun (its own client), 8 copies at once handled once, keys kept 25 h", async () => {
  const client = new Redis(redis.url);
  try {
    const run = (runtime: string, cmd: string, env: Record<string, string>) => {
      const delivery = deliveries();
      const out = execFileSync(cmd, [`${runtime}.mjs`], { cwd: project(), env: { ...base(), ...env, REDIS_URL: redis.url, DELIVERY: JSON.stringify(delivery) }, encoding: "utf8" });
      assertOnce(JSON.parse(out.trim().split("\n").pop()!) as Outcome, runtime);
      return delivery;
    };
    const fromNode = run("node", process.execPath, { IOREDIS: require.resolve("ioredis") });
    const fromBun = run("bun", bins.bun, {});
    for (const { first, second } of [fromNode, fromBun]) {
      for (const id of [first.headers["webhook-id"], second.headers["webhook-id"]]) {
        const ttl = await client.ttl(PREFIX + id);
        assert.ok(ttl > TTL - 60 && ttl <= TTL, `${id} kept ${ttl} s`);
      }
    }
  } finally {
    client.disconnect();
  }
}, 120_000);

test("DenoKvDedup over a Deno KV database in Deno: 8 copies at once handled once (an atomic check), the key under the store's prefix", () => {
  const dir = project();
  const delivery = deliveries();
  const out = execFileSync(bins.deno, ["run", "--unstable-kv", "--allow-env", "--allow-read", "--allow-write", "--no-prompt", "deno.mjs"], {
    cwd: dir,
    env: { ...base(), DENO_DIR: join(dir, ".deno"), DENO_NO_UPDATE_CHECK: "1", KV_PATH: join(dir, "dedup.sqlite"), DELIVERY: JSON.stringify(delivery) },
    encoding: "utf8",
  });
  const outcome = JSON.parse(out.trim().split("\n").pop()!) as Outcome;
  assertOnce(outcome, `deno ${RUNTIME_VERSIONS.deno}`);
  assert.equal(outcome.stored, 1);
}, 120_000);

test("WorkersKvDedup over workerd's KV namespace binding: a copy handled once, written with expirationTtl 25 h", async () => {
  const dir = project();
  const delivery = deliveries();
  const port = await freePort();
  writeFileSync(join(dir, "config.capnp"), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker), (name = "kv-storage", worker = .storage) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [ (name = "worker.mjs", esModule = embed "worker.mjs"), (name = "check.mjs", esModule = embed "check.mjs"), (name = "web.mjs", esModule = embed "web.mjs") ],
  compatibilityDate = "2025-09-01",
  bindings = [ (name = "KV", kvNamespace = "kv-storage"), (name = "KV_STORAGE", service = "kv-storage"), (name = "DELIVERY", text = ${JSON.stringify(JSON.stringify(delivery))}) ],
);
const storage :Workerd.Worker = (
  modules = [ (name = "kv-storage.mjs", esModule = embed "kv-storage.mjs") ],
  compatibilityDate = "2025-09-01",
);
`);
  let output = "";
  const child = spawn(bins.workerd, ["serve", join(dir, "config.capnp")], { cwd: dir, env: base(), stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.on("data", (c: Buffer) => (output += c));
  child.stderr.on("data", (c: Buffer) => (output += c));
  try {
    const url = `http://127.0.0.1:${port}`;
    await waitFor("workerd serving", async () => {
      if (child.exitCode !== null) throw new Error(`workerd exited ${child.exitCode}: ${output}`);
      return (await fetch(`${url}/nothing`).catch(() => undefined))?.status === 404;
    }, 60_000, 100);
    const answer = await fetch(`${url}/check`);
    assert.equal(answer.status, 200, output);
    assertOnce((await answer.json()) as Outcome, `workerd ${RUNTIME_VERSIONS.workerd}`);
    for (const id of [delivery.first.headers["webhook-id"], delivery.second.headers["webhook-id"]]) {
      assert.equal(await (await fetch(`${url}/ttl?key=${encodeURIComponent(PREFIX + id)}`)).json(), TTL, id);
    }
  } finally {
    child.kill("SIGKILL");
  }
}, 120_000);
