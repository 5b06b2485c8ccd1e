/**
 * lane: full (Docker)
 * The dynamic-webhooks example as its README runs it: the stack's receiver container (the real
 * image, with the env, host entries and port the stack computes for an emulator on the Docker host's
 * loopback), the emulator serving the JWKS, and `node submit-batch.js` typed as the README types it.
 * The container must fetch the JWKS through the address the stack computed and verify the batch's
 * dynamic delivery.
 */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { startEmulator, RunningEmulator } from "gemini-webhooks-emulator";
import { freePort } from "../../scripts/free-port";
import { REPO_ROOT } from "../../scripts/paths";
import { waitFor } from "../../scripts/wait-for";
import { releasedReceiverImage, stopRegistry, docker, requireDocker } from "../support/docker";

const execFileAsync = promisify(execFile);
const EXAMPLE = join(REPO_ROOT, "examples", "dynamic-webhooks");
const KEY = "dynamic-example-key-0123456789";
let emulator: RunningEmulator | undefined;
let containerId = "";

beforeAll(requireDocker);
afterAll(async () => {
  await stopRegistry();
  if (containerId) spawnSync("docker", ["rm", "-f", containerId]);
  await emulator?.close();
});

interface ContainerInputs {
  envs: string[];
  hosts?: { host: string; ip: string }[];
  ports: { internal: number; external: number; ip: string }[];
}

/** The container the stack declares for this config, read from the program under Pulumi's mocks. */
async function stackContainer(config: Record<string, string>): Promise<ContainerInputs> {
  let container: ContainerInputs | undefined;
  process.env.PULUMI_CONFIG = JSON.stringify(Object.fromEntries(Object.entries(config).map(([k, v]) => [`gemini-dynamic-webhooks:${k}`, v])));
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        if (args.type === "docker:index/container:Container") container = args.inputs as ContainerInputs;
        return { id: `${args.name}-id`, state: { ...args.inputs, ...(args.type === "docker:index/remoteImage:RemoteImage" ? { imageId: "unused" } : {}) } };
      },
      call: (args) => args.inputs,
    },
    "gemini-dynamic-webhooks",
    "test",
    false,
  );
  const outputs = require(join(EXAMPLE, "index")) as { containerName: pulumi.Output<string> };
  await new Promise((resolve) => outputs.containerName.apply(resolve));
  return container!;
}

test("the stack's receiver container reaches the emulator's JWKS on the Docker host and verifies a batch submitted with submit-batch.js", async () => {
  const image = await releasedReceiverImage(); // pushed to a local registry under the release tag, pulled back by it
  // The emulator as the README starts it for containers (`serve --host 0.0.0.0`): reachable from the
  // Docker bridge, naming its loopback origin as the tokens' issuer.
  const emulatorPort = await freePort();
  emulator = await startEmulator({ port: emulatorPort, host: "0.0.0.0", inMemory: true, apiKey: KEY, jobCompletionDelayMs: 100 });
  assert.equal(emulator.url, `http://127.0.0.1:${emulatorPort}`);

  const receiverPort = await freePort();
  const container = await stackContainer({ geminiOrigin: `http://127.0.0.1:${emulatorPort}`, port: String(receiverPort) });
  assert.ok(container.envs.includes(`JWKS_URI=http://host.docker.internal:${emulatorPort}/.well-known/jwks.json`), container.envs.join(" "));
  assert.deepEqual(container.hosts, [{ host: "host.docker.internal", ip: "host-gateway" }]);

  containerId = docker([
    "run", "-d",
    ...container.envs.flatMap((e) => ["-e", e]),
    ...(container.hosts ?? []).flatMap((h) => ["--add-host", `${h.host}:${h.ip}`]),
    ...container.ports.flatMap((p) => ["-p", `${p.ip}:${p.external}:${p.internal}`]),
    image,
  ]);
  await waitFor("the container to be healthy", () => docker(["inspect", "--format", "{{.State.Health.Status}}", containerId]) === "healthy", 60_000);

  // The README's command, as typed.
  // Asynchronously: the emulator answering it runs in this process.
  const submitted = await execFileAsync(process.execPath, ["submit-batch.js", `http://127.0.0.1:${receiverPort}/webhooks/gemini/dynamic`], {
    cwd: EXAMPLE,
    env: { PATH: process.env.PATH, GEMINI_API_KEY: KEY, GOOGLE_GEMINI_BASE_URL: `http://127.0.0.1:${emulatorPort}` },
    encoding: "utf8",
    timeout: 30_000,
  });
  const batchName = submitted.stdout.trim();
  assert.match(batchName, /^batches\//);

  await waitFor("the container to process the batch's event", () => /gemini webhook processed/.test(docker(["logs", containerId])), 30_000);
  const line = docker(["logs", containerId]).split("\n").find((l) => l.includes("gemini webhook processed"))!;
  const entry = JSON.parse(line) as { type: string; kind: string; data_id: string };
  assert.deepEqual([entry.type, entry.kind, entry.data_id], ["batch.succeeded", "dynamic", batchName]);
  const metrics = await (await fetch(`http://127.0.0.1:${receiverPort}/metrics`)).text();
  assert.match(metrics, /gemini_webhook_deliveries_total\{outcome="verified",kind="dynamic"\} 1/);
  assert.match(metrics, /gemini_webhook_deliveries_total\{outcome="jwks_unavailable",kind="dynamic"\} 0/);
}, 180_000);

test("submit-batch.js without a key says how to run it, and exits 2", () => {
  const run = spawnSync(process.execPath, ["submit-batch.js", "http://127.0.0.1:1/x"], { cwd: EXAMPLE, env: { PATH: process.env.PATH }, encoding: "utf8" });
  assert.equal(run.status, 2);
  assert.match(run.stderr, /usage: GEMINI_API_KEY=\.\.\. \[GOOGLE_GEMINI_BASE_URL=\.\.\.\] node submit-batch\.js <webhook-uri>/);
});
