/**
 * lane: full (runtimes from the npm registry)
 * `gemini-webhooks-receiver/web` in the runtimes users deploy webhook endpoints to — workerd
 * (Cloudflare Workers), Deno, Bun and Node 24 — each serving the same handler (runtimes/handler.mjs)
 * over the built ES module, as a user's project would import it. Each runtime gets the conformance
 * vectors (vectors.ts) as real HTTP requests and must conclude what the receiver's server concludes
 * for every one (its own verifyStaticDelivery / verifyDynamicDelivery, run here beside it) — the
 * reference `standardwebhooks` library agreeing on every static one; a replay (the same delivery, and a
 * captured token under a fresh id) is refused with a dedup store; and the emulator's real deliveries,
 * static and dynamic (its JWKS fetched over HTTP), are accepted.
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { once } from "node:events";
import { exportJWK, generateKeyPair } from "jose";
import { Webhook } from "standardwebhooks";
import { startEmulator, RunningEmulator } from "gemini-webhooks-emulator";
import { closeAllPools, WebhooksClient } from "gemini-webhooks-client";
import { verifyDynamicDelivery, verifyStaticDelivery, WebhookVerificationError } from "gemini-webhooks-receiver";
import { freePort } from "../../scripts/free-port";
import { REPO_ROOT } from "../../scripts/paths";
import { runtimeBins, RUNTIME_VERSIONS, workerdConfig } from "../../scripts/runtimes";
import { waitFor } from "../../scripts/wait-for";
import { admin } from "../support/admin";
import { dynamicVectors, DynamicKeys, staticVectors, unboundToken, Vector } from "./vectors";

const KEY = "web-runtimes-key-0123456789";
const whsec = () => "whsec_" + randomBytes(32).toString("base64");
const [secretA, secretB, unknown] = [whsec(), whsec(), whsec()];
const ISSUER = "https://vectors.gemini-webhooks.test";
const work = mkdtempSync(join(tmpdir(), "gemini-web-"));
let emulator: RunningEmulator;
let client: WebhooksClient;
let jwksServer: Server;
let jwksUrl = "";
let keys: DynamicKeys;
let bins: ReturnType<typeof runtimeBins>;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  bins = runtimeBins();
  const signing = await generateKeyPair("RS256");
  const stranger = await generateKeyPair("RS256");
  keys = { privateKey: signing.privateKey as DynamicKeys["privateKey"], kid: "vectors-1", stranger: stranger.privateKey as DynamicKeys["stranger"], issuer: ISSUER };
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(signing.publicKey)), kid: "vectors-1", alg: "RS256", use: "sig" }] });
  jwksServer = createServer((_req, res) => void res.writeHead(200, { "content-type": "application/json" }).end(jwks));
  jwksServer.listen(0, "127.0.0.1");
  await once(jwksServer, "listening");
  jwksUrl = `http://127.0.0.1:${(jwksServer.address() as { port: number }).port}/jwks.json`;
  emulator = await startEmulator({ port: 0, inMemory: true, apiKey: KEY, jobCompletionDelayMs: 0 });
  client = new WebhooksClient({ baseUrl: emulator.apiUrl, apiKey: KEY });
}, 300_000);

afterAll(async () => {
  for (const child of children) child.kill("SIGKILL");
  jwksServer?.close();
  await emulator?.close();
  await closeAllPools();
  rmSync(work, { recursive: true, force: true });
});

/** The user's project: the built module and the runtime's entry files, copied out of this repository. */
function project(runtime: string): string {
  const dir = mkdtempSync(join(work, `${runtime}-`));
  copyFileSync(join(REPO_ROOT, "receiver", "dist", "web", "web.mjs"), join(dir, "web.mjs"));
  for (const file of readdirSync(join(__dirname, "runtimes"))) copyFileSync(join(__dirname, "runtimes", file), join(dir, file));
  return dir;
}

/** workerd's config: the worker's modules, its bindings, a socket, and an outbound network that reaches loopback (the key sets). */
function workerdConfigFile(dir: string, port: number, env: Record<string, string>): string {
  const bindings = Object.fromEntries(Object.entries(env).filter(([name]) => name !== "PORT"));
  writeFileSync(join(dir, "config.capnp"), workerdConfig({ port, modules: ["worker.mjs", "handler.mjs", "web.mjs"], bindings, reachLoopback: true }));
  return join(dir, "config.capnp");
}

function launch(runtime: string, dir: string, port: number, env: Record<string, string>): ChildProcess {
  const base = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" };
  const [cmd, args] =
    runtime === "node" ? [process.execPath, ["node.mjs"]]
    : runtime === "deno" ? [bins.deno, ["run", "--allow-net", "--allow-env", "--no-prompt", "deno.mjs"]]
    : runtime === "bun" ? [bins.bun, ["bun.mjs"]]
    : [bins.workerd, ["serve", workerdConfigFile(dir, port, env)]];
  const child = spawn(cmd, args, { cwd: dir, env: { ...base, ...env, ...(runtime === "deno" ? { DENO_DIR: join(dir, ".deno"), DENO_NO_UPDATE_CHECK: "1" } : {}) }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c));
  child.stderr!.on("data", (c: Buffer) => (output += c));
  Object.defineProperty(child, "output", { get: () => output });
  children.add(child);
  return child;
}

/** What the receiver's server concludes for a vector: "ok" or its refusal reason. */
async function serverVerdict(vector: Vector, audience: string): Promise<string> {
  try {
    if (vector.kind === "static") verifyStaticDelivery(vector.body, vector.headers, [secretA, secretB]);
    else await verifyDynamicDelivery(vector.body, vector.headers, { jwksUri: jwksUrl, issuer: ISSUER, audience });
    if (vector.body.trim().startsWith("{") && typeof JSON.parse(vector.body).type === "string") return "ok";
    return "malformed";
  } catch (err) {
    if (err instanceof WebhookVerificationError) return err.reason;
    if (err instanceof SyntaxError) return "malformed";
    throw err;
  }
}

const post = (url: string, vector: Pick<Vector, "body" | "headers">) => fetch(url, { method: "POST", headers: vector.headers, body: vector.body }).then(async (r) => ({ status: r.status, ...((await r.json()) as { ok: boolean; reason?: string; detail?: string; body?: string }) }));

test.each(["node", "deno", "bun", "workerd"])("%s: the conformance vectors as the server concludes them, replays refused, the emulator's static and dynamic deliveries accepted", async (runtime) => {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const forEmulator = await client.create({ uri: `${base}/emulator`, subscribed_events: ["batch.succeeded"] });
  const env = {
    PORT: String(port),
    SECRETS: `${secretA} ${secretB}`,
    JWKS_URI: jwksUrl,
    ISSUER,
    AUDIENCE: `${base}/verify`,
    EMU_SECRET: forEmulator.new_signing_secret!,
    EMU_JWKS_URI: `${emulator.url}/.well-known/jwks.json`,
    EMU_ISSUER: emulator.url,
    EMU_AUDIENCE: `${base}/emulator`,
  };
  const child = launch(runtime, project(runtime), port, env);
  try {
    await waitFor(`${runtime} serving`, async () => {
      if (child.exitCode !== null) throw new Error(`${runtime} exited ${child.exitCode}: ${(child as unknown as { output: string }).output}`);
      return (await fetch(`${base}/received`).catch(() => undefined))?.status === 200;
    }, 60_000, 100);

    // 1. The vectors: the runtime concludes what the server does, for every one.
    const vectors = [...staticVectors(secretA, secretB, unknown), ...(await dynamicVectors(keys, `${base}/verify`))];
    const mismatches: string[] = [];
    for (const vector of vectors) {
      const answer = await post(`${base}/verify`, vector);
      const got = answer.ok ? "ok" : answer.reason;
      const server = await serverVerdict(vector, `${base}/verify`);
      if (got !== vector.expect || server !== vector.expect) mismatches.push(`${vector.name}: ${runtime} ${got} (${answer.detail ?? ""}), server ${server}, expected ${vector.expect}`);
      if (answer.ok) assert.equal(answer.body, vector.body, "the body as it arrived");
      if (vector.kind === "static") {
        // The reference library agrees on every static vector a runtime accepts or refuses for its signature.
        const reference = [secretA, secretB].some((secret) => {
          try {
            new Webhook(secret).verify(vector.body, vector.headers);
            return true;
          } catch {
            return false;
          }
        });
        if (["ok", "invalid_signature"].includes(vector.expect) && !vector.name.includes("non-canonical") && !vector.name.includes("alphabet")) {
          assert.equal(reference, vector.expect === "ok", `standardwebhooks on "${vector.name}"`);
        }
      }
    }
    assert.deepEqual(mismatches, [], `${runtime}: ${vectors.length} vectors`);

    // 2. Replays, with a dedup store: the same delivery again, and a captured token under a fresh webhook-id.
    const [valid] = staticVectors(secretA, secretB, unknown);
    assert.equal((await post(`${base}/dedup`, valid)).ok, true);
    const again = await post(`${base}/dedup`, valid);
    assert.deepEqual([again.status, again.reason], [200, "duplicate"]);
    const unbound = await unboundToken(keys, `${base}/verify`);
    assert.equal((await post(`${base}/dedup`, unbound)).ok, true);
    const replayed = await post(`${base}/dedup`, { ...unbound, headers: { ...unbound.headers, "webhook-id": "msg_fresh_id" } });
    assert.deepEqual([replayed.status, replayed.reason], [200, "duplicate"], "a captured token under a fresh id");

    // 3. The emulator's real deliveries: a static webhook and a dynamic one (its key set over HTTP).
    const admined = { url: emulator.url, apiKey: KEY };
    const stat = (await (await admin(admined, "POST", "/events", { type: "batch.succeeded" })).json()) as { event_id: string };
    const dyn = (await (await admin(admined, "POST", "/events", { type: "batch.succeeded", webhook_config: { uris: [`${base}/emulator`] } })).json()) as { event_id: string };
    type Delivery = { event_id: string; target: string; kind: string; status: string };
    await waitFor(`${runtime}: the emulator's two deliveries succeeded`, async () => {
      const { deliveries } = (await (await admin(admined, "GET", "/deliveries")).json()) as { deliveries: Delivery[] };
      const mine = deliveries.filter((d) => d.target === `${base}/emulator` && (d.event_id === stat.event_id || d.event_id === dyn.event_id));
      return mine.length === 2 && mine.every((d) => d.status === "succeeded");
    }, 30_000, 100);
    const received = (await (await fetch(`${base}/received`)).json()) as { route: string; kind: string }[];
    assert.deepEqual(received.filter((r) => r.route === "/emulator").map((r) => r.kind).sort(), ["dynamic", "static"]);
    console.log(`${runtime}${runtime === "node" ? ` ${process.version}` : ` ${RUNTIME_VERSIONS[runtime as keyof typeof RUNTIME_VERSIONS]}`}: ${vectors.length} vectors as the server concludes them, replays refused, the emulator's static and dynamic deliveries accepted`);
  } finally {
    child.kill("SIGKILL");
    await client.delete(forEmulator.id!).catch(() => undefined);
  }
}, 180_000);
