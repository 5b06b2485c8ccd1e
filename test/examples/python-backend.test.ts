/**
 * lane: full (Docker, Python and PyPI)
 * examples/python-backend with real Docker, its containers configured as the stack declares them (read
 * from the program under Pulumi's mocks: env, mounts, network aliases, ports, user): Redis, the
 * receiver image forwarding to the Flask app, the secrets files written by the example's own writer.
 * The app's image is built from this machine's Python with the example's pinned requirements from
 * PyPI (no registry here for python:3.12-slim), running the Dockerfile's own command. Checked: events
 * flowing through a rotation of Gemini's secret and one of the forwarding secret — 0 rejected, every
 * event handled by the app (verified with standardwebhooks), nothing restarted; the app stopped for
 * 20 s — every event handled once it is back.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { startEmulator, RunningEmulator } from "gemini-webhooks-emulator";
import { closeAllPools, WebhooksClient } from "gemini-webhooks-client";
import { freePort } from "../../scripts/free-port";
import { REPO_ROOT } from "../../scripts/paths";
import { pythonVenv } from "../../scripts/python-venv";
import { waitFor } from "../../scripts/wait-for";
import { admin } from "../support/admin";
import { buildPythonImage, releasedReceiverImage, stopRegistry, ContainerInputs, docker, dockerRunArgs, requireDocker } from "../support/docker";
import { TEST_API_KEY } from "../support/emulator";

const EXAMPLE = join(REPO_ROOT, "examples", "python-backend");
const work = mkdtempSync(join(tmpdir(), "gemini-python-backend-"));
const started: string[] = [];
let network = "";
let volume = "";
let emulator: RunningEmulator | undefined;

beforeAll(requireDocker);
afterAll(async () => {
  await stopRegistry();
  if (started.length) spawnSync("docker", ["rm", "-f", ...started]);
  if (network) spawnSync("docker", ["network", "rm", network]);
  if (volume) spawnSync("docker", ["volume", "rm", volume]);
  await emulator?.close();
  await closeAllPools();
  rmSync(work, { recursive: true, force: true });
});

const whsec = () => "whsec_" + randomBytes(32).toString("base64");

/** The resources the stack declares for this config, read from the program under Pulumi's mocks. */
async function stackResources(config: Record<string, string>) {
  const registered: { type: string; name: string; inputs: Record<string, unknown> }[] = [];
  process.env.PULUMI_CONFIG = JSON.stringify(Object.fromEntries(Object.entries(config).map(([k, v]) => [`gemini-python-backend:${k}`, v])));
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === "pulumi-nodejs:dynamic/gemini:Webhook") state.signingSecret = whsec();
        if (args.type === "docker:index/image:Image") state.repoDigest = "unused";
        if (args.type === "docker:index/remoteImage:RemoteImage") state.imageId = "unused";
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    "gemini-python-backend",
    "ci",
    false,
  );
  const outputs = require(join(EXAMPLE, "index")) as { receiverName: pulumi.Output<string> };
  await new Promise((resolve) => outputs.receiverName.apply(resolve));
  const of = (type: string) => registered.filter((r) => r.type === type);
  const container = (name: string) => of("docker:index/container:Container").find((c) => c.name === name)!.inputs as unknown as ContainerInputs;
  const files = Object.fromEntries(of("pulumi-nodejs:dynamic/python-backend:SecretsFile").map((f) => [f.name, f.inputs as { dir: string; owner: { uid: number; gid: number } }]));
  return {
    redis: container("redis"),
    receiver: container("receiver"),
    backend: container("backend"),
    network: (of("docker:index/network:Network")[0].inputs as { name: string }).name,
    volume: (of("docker:index/volume:Volume")[0].inputs as { name: string }).name,
    webhook: of("pulumi-nodejs:dynamic/gemini:Webhook")[0].inputs as { uri: string },
    files,
  };
}

/** The app's image: this machine's Python, the pinned requirements from PyPI, app.py, the Dockerfile's CMD and USER. */
async function buildBackendImage(): Promise<string> {
  const dockerfile = readFileSync(join(EXAMPLE, "backend", "Dockerfile"), "utf8");
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)![1];
  const user = /^USER (\S+)$/m.exec(dockerfile)![1];
  const requirements = readFileSync(join(EXAMPLE, "backend", "requirements.txt"), "utf8").split("\n").map((l) => l.trim()).filter(Boolean);
  const python = await pythonVenv(requirements);
  const site = execFileSync(python, ["-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], { encoding: "utf8" }).trim();
  const version = execFileSync(python, ["-c", "import sys; print('%d.%d' % sys.version_info[:2])"], { encoding: "utf8" }).trim();
  const context = mkdtempSync(join(work, "backend-image-"));
  cpSync(site, join(context, "site-packages"), { recursive: true });
  cpSync(join(EXAMPLE, "backend", "app.py"), join(context, "app.py"));
  writeFileSync(join(context, "Dockerfile"), [`FROM ${buildPythonImage()}`, "WORKDIR /app", `COPY site-packages /usr/local/lib/python${version}/site-packages`, "COPY app.py .", `USER ${user}`, `CMD ${cmd}`].join("\n"));
  docker(["build", "-q", "-t", "gemini-python-backend:test", context]);
  return "gemini-python-backend:test";
}

async function metric(url: string, name: string): Promise<number> {
  const line = (await (await fetch(url)).text()).split("\n").find((l) => l.startsWith(name + " "));
  return line ? Number(line.split(" ").pop()) : 0;
}

test("the example's stack in Docker: rotations of both secrets with events flowing reject none and restart nothing; the app down for 20 s loses nothing", async () => {
  const receiverImage = await releasedReceiverImage(); // pushed to a local registry under the release tag, pulled back by it
  const redisImage = execFileSync("bash", [join(REPO_ROOT, "scripts", "build-redis-image.sh")], { encoding: "utf8" }).trim();
  const backendImage = await buildBackendImage();
  const receiverPort = await freePort();
  const [forwardOld, forwardNew] = [whsec(), whsec()];
  const stack = await stackResources({ receiverPort: String(receiverPort), secretsDir: join(work, "secrets"), forwardSigningSecrets: forwardOld });
  assert.ok(stack.receiver.envs!.includes("HANDLER_URL=http://backend:8000/gemini-callback"));
  assert.equal(stack.backend.ports, undefined, "the app is not published");
  for (const c of [stack.receiver, stack.backend]) assert.ok(!(c.envs ?? []).some((e) => e.includes("whsec_")), "no secret in a container's environment");

  emulator = await startEmulator({ port: await freePort(), inMemory: true, apiKey: TEST_API_KEY, jobCompletionDelayMs: 0 });
  const client = new WebhooksClient({ baseUrl: emulator.apiUrl, apiKey: TEST_API_KEY });
  const hook = await client.create({ uri: stack.webhook.uri, subscribed_events: ["batch.succeeded"] });
  const { writeSecretsFile } = require(join(EXAMPLE, "secrets-file")) as typeof import("../../examples/python-backend/secrets-file");
  const webhookFile = stack.files["webhook-secrets"];
  const forwardFile = stack.files["forward-secrets"];
  writeSecretsFile(webhookFile.dir, hook.new_signing_secret!, webhookFile.owner);
  writeSecretsFile(forwardFile.dir, forwardOld, forwardFile.owner);

  network = stack.network;
  volume = stack.volume;
  docker(["network", "create", network]);
  docker(["volume", "create", volume]);
  for (const [c, image] of [[stack.redis, redisImage], [stack.backend, backendImage], [stack.receiver, receiverImage]] as const) {
    docker(dockerRunArgs(c, image));
    started.push(c.name);
  }
  const base = `http://127.0.0.1:${receiverPort}`;
  await waitFor("the receiver ready", async () => (await fetch(`${base}/readyz`).catch(() => undefined))?.status === 200, 90_000, 200);
  const startedAt = [stack.receiver, stack.backend].map((c) => docker(["inspect", "--format", "{{.State.StartedAt}}", c.name]));
  const handled = async () => JSON.parse(docker(["exec", stack.backend.name, "python3", "-c", "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8000/handled').read().decode())"])) as Record<string, string>;
  const deliveries = async () => ((await (await admin(emulator!, "GET", "/deliveries")).json()) as { deliveries: { webhook_id_header: string; status: string }[] }).deliveries;

  // 1. Events flowing through both rotations: Gemini's secret at 15, the forwarding secret (both, then the new one) at 30 and 45.
  let rotated = "";
  for (let i = 0; i < 60; i++) {
    assert.equal((await admin(emulator, "POST", "/events", { type: "batch.succeeded" })).status, 200);
    if (i === 15) {
      rotated = (await client.rotateSigningSecret(hook.id)).secret;
      writeSecretsFile(webhookFile.dir, `${rotated} ${hook.new_signing_secret}`, webhookFile.owner);
    }
    if (i === 30) writeSecretsFile(forwardFile.dir, `${forwardNew} ${forwardOld}`, forwardFile.owner);
    if (i === 45) writeSecretsFile(forwardFile.dir, forwardNew, forwardFile.owner);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await waitFor("60 deliveries succeeded", async () => {
    const all = await deliveries();
    return all.length === 60 && all.every((d) => d.status === "succeeded");
  }, 90_000, 200);
  await waitFor("60 events handled by the app", async () => Object.keys(await handled()).length === 60, 60_000, 200);
  const ids = (await deliveries()).map((d) => d.webhook_id_header).sort();
  assert.deepEqual(Object.keys(await handled()).sort(), ids, "the app handled each delivery, under its webhook-id");
  const metrics = `${base}/metrics`;
  assert.equal(await metric(metrics, 'gemini_webhook_deliveries_total{outcome="invalid_signature",kind="static"}'), 0, "the receiver rejected none");
  assert.equal(await metric(metrics, 'gemini_webhook_forward_seconds_count{outcome="4xx"}'), 0, "the app rejected no forward");
  assert.ok((await metric(metrics, 'gemini_webhook_forward_secrets_reload_total{outcome="ok"}')) >= 2, "the forwarding secrets were reloaded");
  assert.deepEqual([stack.receiver, stack.backend].map((c) => docker(["inspect", "--format", "{{.State.StartedAt}}", c.name])), startedAt, "nothing restarted");

  // 2. The app stopped for 20 s with events arriving: retried, every one handled once it is back.
  docker(["stop", stack.backend.name]);
  const before = (await deliveries()).length;
  for (let i = 0; i < 10; i++) assert.equal((await admin(emulator, "POST", "/events", { type: "batch.succeeded" })).status, 200);
  await waitFor("the 10 accepted by the receiver", async () => (await deliveries()).filter((d) => d.status === "succeeded").length === before + 10, 30_000, 200);
  await new Promise((resolve) => setTimeout(resolve, 20_000)); // the outage
  docker(["start", stack.backend.name]);
  const later = (await deliveries()).slice(before).map((d) => d.webhook_id_header);
  await waitFor("the 10 handled after the outage", async () => {
    const now = await handled().catch(() => ({}) as Record<string, string>);
    return later.every((id) => id in now);
  }, 120_000, 500);
  console.log(`python-backend: 60 events through two rotations (0 rejected), 10 more across a 20 s outage of the app (all handled); forwards failed meanwhile: ${await metric(metrics, 'gemini_webhook_forward_seconds_count{outcome="error"}')}`);
}, 600_000);
