/**
 * lane: full (runtimes from the npm registry, redis-server)
 * The runtime adapters in docs/adapters/runtimes, run where they run: the Worker bundled by esbuild (as
 * wrangler bundles it) and served by workerd with a real KV namespace binding and a service binding;
 * the Deno file served by Deno with Deno KV; the Bun file served by Bun with a real redis-server. Each
 * is a user's project: the file copied out beside the built `gemini-webhooks-receiver/web`. Each
 * accepts a signed delivery and hands it on, answers its copy 200 (duplicate), refuses a tampered one
 * 401; the Worker, its backend failing once, answers 502 and handles Gemini's retry (verifier.forget).
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Redis from "ioredis";
import { buildSync } from "esbuild";
import { Webhook } from "standardwebhooks";
import { freePort } from "../../scripts/free-port";
import { REPO_ROOT } from "../../scripts/paths";
import { runtimeBins, RUNTIME_VERSIONS } from "../../scripts/runtimes";
import { waitFor } from "../../scripts/wait-for";
import { RedisServer } from "../support/redis-server";

const ADAPTERS = join(REPO_ROOT, "docs", "adapters", "runtimes");
const WEB = join(REPO_ROOT, "receiver", "dist", "web", "web.mjs");
const work = mkdtempSync(join(tmpdir(), "gemini-runtime-adapters-"));
const secret = "whsec_" + randomBytes(32).toString("base64");
const children = new Set<ChildProcess>();
let bins: ReturnType<typeof runtimeBins>;

beforeAll(() => {
  bins = runtimeBins();
}, 300_000);

afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

function delivery(name: string, tamper = false) {
  const id = `msg_${name}_${randomBytes(4).toString("hex")}`;
  const body = JSON.stringify({ type: "batch.succeeded", data: { id } });
  const now = new Date();
  const headers = { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(Math.floor(now.getTime() / 1000)), "webhook-signature": new Webhook(secret).sign(id, now, body) };
  return { id, init: { method: "POST", headers, body: tamper ? body.replace("batch.", "batch.x") : body } };
}

/** A user's project: the adapter file and the package's built module, where their imports find them. */
function project(file: string): string {
  const dir = mkdtempSync(join(work, "project-"));
  const pkg = join(dir, "node_modules", "gemini-webhooks-receiver");
  mkdirSync(pkg, { recursive: true });
  copyFileSync(WEB, join(pkg, "web.mjs"));
  writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "gemini-webhooks-receiver", type: "module", exports: { "./web": "./web.mjs" } }));
  copyFileSync(join(ADAPTERS, file), join(dir, file));
  return dir;
}

function serve(cmd: string, args: string[], cwd: string, env: Record<string, string>): ChildProcess & { output: () => string } {
  let output = "";
  const child = spawn(cmd, args, { cwd, env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", ...env }, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (c: Buffer) => (output += c));
  child.stderr!.on("data", (c: Buffer) => (output += c));
  children.add(child);
  return Object.assign(child, { output: () => output });
}

async function ready(child: ChildProcess & { output: () => string }, url: string, what: string): Promise<void> {
  await waitFor(what, async () => {
    if (child.exitCode !== null) throw new Error(`${what}: exited ${child.exitCode}: ${child.output()}`);
    return (await fetch(url).catch(() => undefined))?.status === 405;
  }, 60_000, 100);
}

/** Valid → 204, its copy → 200 duplicate, tampered → 401. Returns the accepted delivery's id. */
async function conforms(url: string, what: string): Promise<string> {
  const valid = delivery(what);
  assert.equal((await fetch(url, valid.init)).status, 204, `${what}: a signed delivery`);
  const again = await fetch(url, valid.init);
  assert.deepEqual([again.status, await again.json()], [200, { error: "duplicate" }], `${what}: its copy`);
  const tampered = await fetch(url, delivery(what, true).init);
  assert.deepEqual([tampered.status, await tampered.json()], [401, { error: "invalid_signature" }], `${what}: a tampered one`);
  return valid.id;
}

test(`Cloudflare Worker (workerd ${RUNTIME_VERSIONS.workerd}): bundled as wrangler does, KV dedup, the backend failing once → 502, Gemini's retry handled`, async () => {
  const dir = project("cloudflare-worker.ts");
  buildSync({ entryPoints: [join(dir, "cloudflare-worker.ts")], outfile: join(dir, "worker.mjs"), bundle: true, format: "esm", platform: "neutral", absWorkingDir: dir, logLevel: "warning" });
  copyFileSync(join(__dirname, "dedup", "kv-storage.mjs"), join(dir, "kv-storage.mjs"));
  copyFileSync(join(__dirname, "runtime-adapters", "backend.mjs"), join(dir, "backend.mjs"));
  const [port, backendPort] = [await freePort(), await freePort()];
  writeFileSync(join(dir, "config.capnp"), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker), (name = "kv-storage", worker = .storage), (name = "backend", worker = .backend) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main"), (name = "backend", address = "127.0.0.1:${backendPort}", http = (), service = "backend") ],
);
const worker :Workerd.Worker = (
  modules = [ (name = "worker.mjs", esModule = embed "worker.mjs") ],
  compatibilityDate = "2025-09-01",
  bindings = [ (name = "GEMINI_WEBHOOK_SECRETS", text = ${JSON.stringify(secret)}), (name = "DEDUP", kvNamespace = "kv-storage"), (name = "BACKEND", service = "backend") ],
);
const storage :Workerd.Worker = ( modules = [ (name = "kv-storage.mjs", esModule = embed "kv-storage.mjs") ], compatibilityDate = "2025-09-01" );
const backend :Workerd.Worker = ( modules = [ (name = "backend.mjs", esModule = embed "backend.mjs") ], compatibilityDate = "2025-09-01" );
`);
  const child = serve(bins.workerd, ["serve", join(dir, "config.capnp")], dir, {});
  const url = `http://127.0.0.1:${port}/webhooks/gemini`;
  await ready(child, url, "workerd serving the Worker");
  const accepted = await conforms(url, "worker");
  const flaky = delivery("fail_once");
  assert.equal((await fetch(url, flaky.init)).status, 502, "the backend failed: Gemini is told to retry");
  assert.equal((await fetch(url, flaky.init)).status, 204, "Gemini's retry is handled, not refused as a duplicate");
  assert.deepEqual(await (await fetch(`http://127.0.0.1:${backendPort}/`)).json(), [accepted, flaky.id]);
}, 120_000);

test(`Deno ${RUNTIME_VERSIONS.deno}: Deno.serve with Deno KV dedup, the event through Deno KV's queue to the listener`, async () => {
  const dir = project("deno.ts");
  writeFileSync(join(dir, "deno.json"), JSON.stringify({ imports: { "gemini-webhooks-receiver/web": "./node_modules/gemini-webhooks-receiver/web.mjs" } }));
  const port = await freePort();
  const child = serve(bins.deno, ["run", "--unstable-kv", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "--no-prompt", "deno.ts"], dir, {
    PORT: String(port),
    GEMINI_WEBHOOK_SECRETS: secret,
    DENO_KV_PATH: join(dir, "kv.sqlite"),
    DENO_DIR: join(dir, ".deno"),
    DENO_NO_UPDATE_CHECK: "1",
  });
  const url = `http://127.0.0.1:${port}/webhooks/gemini`;
  await ready(child, url, "Deno serving");
  const accepted = await conforms(url, "deno");
  await waitFor("the listener handed the event by Deno KV's queue", async () => child.output().includes(`gemini event batch.succeeded ${accepted}`), 30_000, 100);
  assert.equal(child.output().split(accepted).length - 1, 1, "handled once");
}, 120_000);

test(`Bun ${RUNTIME_VERSIONS.bun}: Bun.serve with Redis dedup over Bun's client, the event on a Redis stream`, async () => {
  const redis = await RedisServer.start();
  const client = new Redis(redis.url);
  try {
    const dir = project("bun.ts");
    const port = await freePort();
    const child = serve(bins.bun, ["bun.ts"], dir, { PORT: String(port), HOST: "127.0.0.1", GEMINI_WEBHOOK_SECRETS: secret, REDIS_URL: redis.url });
    const url = `http://127.0.0.1:${port}/webhooks/gemini`;
    await ready(child, url, "Bun serving");
    const accepted = await conforms(url, "bun");
    const entries = (await client.xrange("gemini-events", "-", "+")) as [string, string[]][];
    assert.deepEqual(entries.map(([, fields]) => fields.slice(0, 4)), [["id", accepted, "type", "batch.succeeded"]]);
  } finally {
    client.disconnect();
    await redis.kill();
  }
}, 120_000);
