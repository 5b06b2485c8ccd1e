/**
 * lane: full (Docker)
 * The receiver's container image, end to end: build it from receiver/Dockerfile on a local base
 * image, run it, let the emulator deliver static (across a rotation) and dynamic events to it, and
 * read its metrics and logs. Needs a Docker engine: without one this suite fails, it never skips.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { startEmulator, RunningEmulator } from "gemini-webhooks-emulator";
import { closeAllPools, WebhooksClient } from "gemini-webhooks-client";
import { TEST_API_KEY } from "../support/emulator";
import { LeakScanner } from "../support/leaks";
import { waitFor } from "../support/receiver-stub";
import { freePort } from "../../scripts/free-port";
import { buildReceiverImage, docker, requireDocker } from "../support/docker";
import { admin } from "../support/admin";

let containerId = "";
let emulator: RunningEmulator;

beforeAll(requireDocker);

afterAll(async () => {
  if (containerId) spawnSync("docker", ["rm", "-f", containerId]);
  await emulator?.close();
  await closeAllPools();
});

test("the image builds, runs as a non-root user, verifies real deliveries, and reports them in metrics and logs", async () => {
  const IMAGE = buildReceiverImage();
  const config = JSON.parse(docker(["image", "inspect", IMAGE, "--format", "{{json .Config}}"])) as { User: string; Healthcheck?: { Test: string[] } };
  assert.equal(config.User, "10001:10001");
  assert.ok(config.Healthcheck?.Test.length, "the image has a HEALTHCHECK");

  emulator = await startEmulator({ inMemory: true, apiKey: TEST_API_KEY, jobCompletionDelayMs: 0 });
  const client = new WebhooksClient({ baseUrl: emulator.apiUrl, apiKey: TEST_API_KEY });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const hook = await client.create({ uri: `${base}/webhooks/gemini`, subscribed_events: ["batch.succeeded", "video.generated"] });
  const { secret: rotated } = await client.rotateSigningSecret(hook.id);
  const leaks = new LeakScanner([hook.new_signing_secret!, rotated]);

  // Host networking keeps every packet on loopback: the emulator reaches the container and the
  // container reaches the emulator's JWKS at 127.0.0.1.
  containerId = docker([
    "run", "-d", "--network", "host",
    "-e", `PORT=${port}`,
    "-e", "HOST=127.0.0.1",
    "-e", `WEBHOOK_SIGNING_SECRETS=${rotated} ${hook.new_signing_secret}`,
    "-e", `JWKS_URI=${emulator.url}/.well-known/jwks.json`,
    "-e", `JWT_ISSUER=${emulator.url}`,
    "-e", `JWT_AUDIENCE=${base}/webhooks/gemini/dynamic`,
    IMAGE,
  ]);
  await waitFor("the container to be healthy", () => docker(["inspect", "--format", "{{.State.Health.Status}}", containerId]) === "healthy", 60_000);

  const emit = (body: unknown) =>
    admin(emulator, "POST", "/events", body);
  await emit({ type: "batch.succeeded" });
  await emit({ type: "video.generated" });
  await emit({ type: "batch.failed", webhook_config: { uris: [`${base}/webhooks/gemini/dynamic`], user_metadata: { run: "container" } } });
  await waitFor("three successful deliveries", async () => {
    const { deliveries } = (await (await admin(emulator, "GET", "/deliveries")).json()) as { deliveries: { status: string }[] };
    return deliveries.length === 3 && deliveries.every((d) => d.status === "succeeded");
  });

  const metrics = await (await fetch(`${base}/metrics`)).text();
  assert.match(metrics, /gemini_webhook_deliveries_total\{outcome="verified",kind="static"\} 2/);
  assert.match(metrics, /gemini_webhook_deliveries_total\{outcome="verified",kind="dynamic"\} 1/);

  // A forged delivery is refused by the container too.
  const forged = await fetch(`${base}/webhooks/gemini`, {
    method: "POST",
    headers: { "content-type": "application/json", "webhook-id": "msg_x", "webhook-timestamp": String(Math.floor(Date.now() / 1000)), "webhook-signature": "v1," + Buffer.alloc(32).toString("base64") },
    body: "{}",
  });
  assert.equal(forged.status, 401);

  await waitFor("three processed-event log lines", () => (docker(["logs", containerId]).match(/gemini webhook processed/g) ?? []).length === 3);
  const logs = spawnSync("docker", ["logs", containerId], { encoding: "utf8" });
  const all = logs.stdout + logs.stderr;
  leaks.assertClean("container logs", all);
  assert.ok(!all.includes("v1,"), "a signature reached the logs");

  // SIGTERM: a clean, prompt exit.
  docker(["stop", "-t", "10", containerId]);
  assert.equal(docker(["inspect", "--format", "{{.State.ExitCode}}", containerId]), "0");
});
