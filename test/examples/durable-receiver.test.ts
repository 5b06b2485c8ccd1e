/**
 * lane: full (Docker)
 * The durable-receiver example with real Docker, configured the way the stack configures its
 * containers (read from the program under Pulumi's mocks: env, mounts, network and alias, ports,
 * host entries, command): Redis with AOF fsynced always, three receiver replicas with the example's
 * handler module mounted, the secrets file written by the example's own writer, and the HAProxy load
 * balancer with the example's haproxy.cfg, which Gemini delivers to. Checked: a rotation with
 * deliveries flowing rejects none and restarts nothing; the load is spread over the replicas;
 * `docker stop` of a replica under load exits 0 inside Docker's 10 s, the senders see 0 answers other
 * than 2xx and nothing is lost, and the replica started again is back in rotation; a dead letter is
 * replayed with the CLI in the image; a Redis outage leaves the replicas healthy (liveness) but not
 * ready, and the load balancer answers 503 until Redis is back.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { once } from "node:events";
import { createServer, Server } from "node:http";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { startEmulator, RunningEmulator } from "gemini-webhooks-emulator";
import { closeAllPools, WebhooksClient } from "gemini-webhooks-client";
import { freePort, freePortRange } from "../../scripts/free-port";
import { REPO_ROOT } from "../../scripts/paths";
import { waitFor } from "../../scripts/wait-for";
import { admin } from "../support/admin";
import { releasedReceiverImage, stopRegistry, ContainerInputs, docker, dockerRunArgs, requireDocker } from "../support/docker";
import { TEST_API_KEY } from "../support/emulator";
import { deliver, signed } from "../support/replicas";

const EXAMPLE = join(REPO_ROOT, "examples", "durable-receiver");
const work = mkdtempSync(join(tmpdir(), "gemini-durable-example-"));
const started: string[] = [];
let network = "";
let volume = "";
let emulator: RunningEmulator | undefined;
let forwardServer: Server | undefined;

beforeAll(requireDocker);
afterAll(async () => {
  await stopRegistry();
  if (started.length) spawnSync("docker", ["rm", "-f", ...started]);
  if (network) spawnSync("docker", ["network", "rm", network]);
  if (volume) spawnSync("docker", ["volume", "rm", volume]);
  forwardServer?.close();
  await emulator?.close();
  await closeAllPools();
  // The secrets directory may belong to the image's user (10001) when the tests run as root.
  rmSync(work, { recursive: true, force: true });
});

interface Stack {
  containers: ContainerInputs[];
  network: string;
  volume: string;
  webhook: { uri: string; subscribedEvents: string[] };
  secretsFile: { dir: string; owner: { uid: number; gid: number } };
}

/** The resources the stack declares for this config, read from the program under Pulumi's mocks. */
async function stackResources(config: Record<string, string>): Promise<Stack> {
  const registered: { type: string; inputs: Record<string, unknown> }[] = [];
  process.env.PULUMI_CONFIG = JSON.stringify(Object.fromEntries(Object.entries(config).map(([k, v]) => [`gemini-durable-receiver:${k}`, v])));
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.push({ type: args.type, inputs: args.inputs });
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === "pulumi-nodejs:dynamic/gemini:Webhook") state.signingSecret = "whsec_" + Buffer.alloc(32, 1).toString("base64");
        if (args.type === "docker:index/image:Image") state.repoDigest = "unused";
        if (args.type === "docker:index/remoteImage:RemoteImage") state.imageId = "unused";
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    "gemini-durable-receiver",
    "ci",
    false,
  );
  const outputs = require(join(EXAMPLE, "index")) as { receiverNames: pulumi.Output<string>[]; redisName: pulumi.Output<string> };
  await Promise.all([...outputs.receiverNames, outputs.redisName].map((o) => new Promise((resolve) => o.apply(resolve))));
  const of = (type: string) => registered.filter((r) => r.type === type).map((r) => r.inputs);
  const [secretsFile] = of("pulumi-nodejs:dynamic/durable-receiver:SecretsFile") as unknown as Stack["secretsFile"][];
  return {
    containers: of("docker:index/container:Container") as unknown as ContainerInputs[],
    network: (of("docker:index/network:Network")[0] as { name: string }).name,
    volume: (of("docker:index/volume:Volume")[0] as { name: string }).name,
    webhook: of("pulumi-nodejs:dynamic/gemini:Webhook")[0] as unknown as Stack["webhook"],
    secretsFile,
  };
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(url)).text();
  const line = text.split("\n").find((l) => l.startsWith(name + " ") || l.startsWith(name + "{"));
  return line ? Number(line.split(" ").pop()) : NaN;
}

const inspect = (name: string, format: string) => docker(["inspect", "--format", format, name]);

test("the example's stack in Docker: rotation under load rejects none, docker stop loses nothing, a dead letter is replayed, a Redis outage is not a liveness failure", async () => {
  const image = await releasedReceiverImage(); // pushed to a local registry under the release tag, pulled back by it
  const redisImage = execFileSync("bash", [join(REPO_ROOT, "scripts", "build-redis-image.sh")], { encoding: "utf8" }).trim();
  const lbImage = execFileSync("bash", [join(REPO_ROOT, "scripts", "build-haproxy-image.sh")], { encoding: "utf8" }).trim();

  // The handler forwards to this server on the Docker host; ids in `failing` get a 500.
  const forwarded = new Map<string, number>();
  const failing = new Set<string>();
  forwardServer = createServer((request, response) => {
    let body = "";
    request.on("data", (c: Buffer) => (body += c));
    request.on("end", () => {
      const { webhook_id: id } = JSON.parse(body) as { webhook_id: string };
      if (failing.has(id)) return void response.writeHead(500).end();
      forwarded.set(id, (forwarded.get(id) ?? 0) + 1);
      response.writeHead(204).end();
    });
  });
  forwardServer.listen(0, "0.0.0.0");
  await once(forwardServer, "listening");
  const forwardPort = (forwardServer.address() as { port: number }).port;

  const lbPort = await freePort();
  const basePort = await freePortRange(3);
  const metricsBasePort = await freePortRange(3);
  const stack = await stackResources({
    basePort: String(basePort),
    metricsBasePort: String(metricsBasePort),
    redisImage,
    lbImage,
    lbPort: String(lbPort),
    secretsDir: join(work, "secrets"),
    forwardUrl: `http://host.docker.internal:${forwardPort}/events`,
    handlerTimeoutMs: "1000",
    visibilityTimeoutMs: "2000",
    maxAttempts: "2",
  });
  const redis = stack.containers.find((c) => c.name.startsWith("gemini-receivers-redis-"))!;
  const receivers = stack.containers.filter((c) => c.name.startsWith("gemini-receiver-"));
  const lb = stack.containers.find((c) => c.name.startsWith("gemini-receivers-lb-"))!;
  assert.equal(receivers.length, 3);
  assert.equal(stack.webhook.uri, `http://127.0.0.1:${lbPort}/webhooks/gemini`, "Gemini delivers to the load balancer");
  assert.deepEqual(redis.command?.slice(0, 5), ["redis-server", "--appendonly", "yes", "--appendfsync", "always"]);
  for (const r of receivers) assert.ok(!(r.envs ?? []).some((e) => e.includes("whsec_")), "no secret in a container's environment");

  emulator = await startEmulator({ port: await freePort(), inMemory: true, apiKey: TEST_API_KEY, jobCompletionDelayMs: 0 });
  const client = new WebhooksClient({ baseUrl: emulator.apiUrl, apiKey: TEST_API_KEY });
  const hook = await client.create({ uri: stack.webhook.uri, subscribed_events: ["batch.succeeded"] });
  const first = hook.new_signing_secret!;
  // The stack's own writer, as its SecretsFile resource runs it.
  const { writeSecretsFile } = require(join(EXAMPLE, "secrets-file")) as typeof import("../../examples/durable-receiver/secrets-file");
  writeSecretsFile(stack.secretsFile.dir, first, stack.secretsFile.owner);

  network = stack.network;
  volume = stack.volume;
  docker(["network", "create", network]);
  docker(["volume", "create", volume]);
  for (const c of stack.containers) {
    docker(dockerRunArgs(c, c === redis ? redisImage : c === lb ? lbImage : image));
    started.push(c.name);
  }
  await waitFor("three healthy replicas", () => receivers.every((r) => inspect(r.name, "{{.State.Health.Status}}") === "healthy"), 90_000, 500).catch((err: Error) => {
    // What Docker saw: each replica's health checks (exit code, output) and its last log lines.
    const seen = receivers.map((r) => `${r.name}: ${inspect(r.name, "{{json .State.Health}}").slice(-1500)}\n${spawnSync("docker", ["logs", "--tail", "10", r.name], { encoding: "utf8" }).stdout}`);
    throw new Error(`${err.message}\n${seen.join("\n")}`);
  });
  await waitFor("three ready replicas", async () => (await Promise.all(receivers.map((_, i) => fetch(`http://127.0.0.1:${basePort + i}/readyz`)))).every((r) => r.status === 200), 30_000, 200);
  const lbUrl = `http://127.0.0.1:${lbPort}`;
  await waitFor("the load balancer passing deliveries", async () => (await fetch(`${lbUrl}/readyz`).catch(() => undefined))?.status === 200, 30_000, 200);
  const startedAt = receivers.map((r) => inspect(r.name, "{{.State.StartedAt}}"));
  const metricsUrls = receivers.map((_, i) => `http://127.0.0.1:${metricsBasePort + i}/metrics`);
  const ports = receivers.map((_, i) => basePort + i);
  assert.equal((await fetch(`http://127.0.0.1:${basePort}/metrics`)).status, 404, "metrics only on their own port");

  // 1. A rotation while events flow: Gemini signs with both secrets during the grace window, the
  //    file is rewritten, every replica reloads it; nothing is rejected, nothing restarts.
  let rotated = "";
  for (let i = 0; i < 40; i++) {
    assert.equal((await admin(emulator, "POST", "/events", { type: "batch.succeeded" })).status, 200);
    if (i === 15) {
      rotated = (await client.rotateSigningSecret(hook.id)).secret;
      writeSecretsFile(stack.secretsFile.dir, `${rotated} ${first}`, stack.secretsFile.owner);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await waitFor("40 deliveries succeeded", async () => {
    const { deliveries } = (await (await admin(emulator!, "GET", "/deliveries")).json()) as { deliveries: { status: string }[] };
    return deliveries.length === 40 && deliveries.every((d) => d.status === "succeeded");
  }, 60_000, 200);
  await waitFor("every replica reloaded the secrets", async () => (await Promise.all(metricsUrls.map((u) => metric(u, 'gemini_webhook_secrets_reload_total{outcome="ok"}')))).every((n) => n >= 1), 20_000, 200);
  const rejected = await Promise.all(metricsUrls.map((u) => metric(u, 'gemini_webhook_deliveries_total{outcome="invalid_signature",kind="static"}')));
  assert.deepEqual(rejected, [0, 0, 0]);
  assert.equal(await deliver(ports, "msg_new_secret_only", 2, rotated), "accepted", "the replicas verify with the rotated secret");
  assert.deepEqual(receivers.map((r) => inspect(r.name, "{{.State.StartedAt}}")), startedAt, "no replica restarted");
  await waitFor("the 40 events forwarded", () => forwarded.size >= 41, 30_000);

  // 2. docker stop of a replica under load, every delivery sent once to the load balancer as Gemini
  //    sends it (no retry by the sender): exit 0 within Docker's 10 s, 0 answers other than 2xx,
  //    everything forwarded, the load spread over the replicas; started again, the replica is back.
  const accepted = () => Promise.all(metricsUrls.map((u) => metric(u, 'gemini_webhook_deliveries_total{outcome="verified",kind="static"}').catch(() => NaN)));
  const acceptedBefore = await accepted();
  const ids = Array.from({ length: 600 }, (_, i) => `msg_load_${i}`);
  const answers = new Map<number | string, number>();
  let stopped: Promise<{ code: string; ms: number }> | undefined;
  let next = 0;
  await Promise.all(Array.from({ length: 12 }, async () => {
    while (next < ids.length) {
      const id = ids[next++];
      const status = await fetch(`${lbUrl}/webhooks/gemini`, { ...signed(id, rotated), signal: AbortSignal.timeout(30_000) }).then((r) => r.status, (err: Error) => err.name);
      answers.set(status, (answers.get(status) ?? 0) + 1);
      if (next === 200 && !stopped) {
        const at = Date.now();
        stopped = Promise.resolve().then(() => {
          docker(["stop", "-t", "10", receivers[1].name]);
          return { code: inspect(receivers[1].name, "{{.State.ExitCode}}"), ms: Date.now() - at };
        });
      }
    }
  }));
  const stop = await stopped!;
  const spread = (await accepted()).map((n, i) => n - acceptedBefore[i]);
  console.log(`durable-receiver example behind HAProxy: docker stop under load → exit ${stop.code} in ${stop.ms} ms; answers ${JSON.stringify(Object.fromEntries(answers))}; accepted per replica ${spread.join(", ")} (replica 1 stopped after ~200)`);
  assert.equal(stop.code, "0");
  assert.ok(stop.ms < 10_000, `${stop.ms} ms`);
  assert.deepEqual(Object.fromEntries(answers), { 200: 600 }, "every delivery answered 2xx through the load balancer");
  assert.ok(spread[0] > 0 && spread[2] > 0, `the load is spread: ${spread.join(", ")}`);
  await waitFor("all 600 forwarded", () => ids.every((id) => forwarded.has(id)), 60_000, 200);
  docker(["start", receivers[1].name]);
  const restartedUrl = metricsUrls[1];
  await waitFor("the restarted replica back in rotation", async () => {
    const id = `msg_back_${Date.now()}_${Math.random()}`;
    assert.equal((await fetch(`${lbUrl}/webhooks/gemini`, signed(id, rotated))).status, 200);
    return (await metric(restartedUrl, 'gemini_webhook_deliveries_total{outcome="verified",kind="static"}').catch(() => 0)) > 0;
  }, 30_000, 100);

  // 3. A dead letter, replayed with the CLI in the image once the downstream is fixed.
  const cli = (...args: string[]) => docker(["exec", receivers[0].name, "node", "/app/receiver.js", "dead-letters", ...args]);
  failing.add("msg_dead_1");
  assert.equal(await deliver([ports[0]], "msg_dead_1", 0, rotated), "accepted");
  // Its own dead letter: on a loaded machine a delivery of step 2 may also have run out of its 2 attempts
  // at the 1 s handler timeout (forwarded late: "all 600 forwarded" held), and be listed beside it.
  type Letter = { id: string; webhookId: string; error: string; attempts: number };
  let letters: Letter[] = [];
  await waitFor("the dead letter of msg_dead_1", () => (letters = JSON.parse(cli("list", "--json")) as Letter[]).some((l) => l.webhookId === "msg_dead_1"), 30_000, 500).catch((err: Error) => {
    throw new Error(`${err.message}; the dead letters listed: ${JSON.stringify(letters.map((l) => [l.webhookId, l.error, l.attempts]))}`);
  });
  const letter = letters.find((l) => l.webhookId === "msg_dead_1")!;
  assert.match(letter.error, /FORWARD_URL answered 500/);
  assert.equal(letter.attempts, 2);
  failing.delete("msg_dead_1");
  assert.match(cli("replay", letter.id), new RegExp(`replayed ${letter.id} as event`));
  await waitFor("the replayed event forwarded", () => forwarded.has("msg_dead_1"), 30_000, 200);

  // 4. Redis stopped: the replicas stay healthy (the HEALTHCHECK is liveness), but are not ready.
  docker(["stop", redis.name]);
  const up = [receivers[0], receivers[2]];
  await waitFor("not ready", async () => (await fetch(`http://127.0.0.1:${basePort}/readyz`)).status === 503, 10_000);
  await waitFor("the load balancer answers 503: no replica is ready", async () => (await fetch(`${lbUrl}/webhooks/gemini`, signed("msg_during_outage", rotated))).status === 503, 10_000, 200);
  await new Promise((resolve) => setTimeout(resolve, 20_000)); // past the HEALTHCHECK's 3 × 5 s
  assert.deepEqual(up.map((r) => inspect(r.name, "{{.State.Health.Status}}")), ["healthy", "healthy"]);
  docker(["start", redis.name]);
  await waitFor("ready again", async () => (await fetch(`http://127.0.0.1:${basePort}/readyz`)).status === 200, 30_000, 200);
  await waitFor("the load balancer passing deliveries again", async () => (await fetch(`${lbUrl}/webhooks/gemini`, signed("msg_after_outage", rotated))).status === 200, 30_000, 200);
}, 420_000);
