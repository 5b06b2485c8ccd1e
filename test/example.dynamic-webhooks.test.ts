/** The dynamic-webhooks example: its wiring under mocks, and its batch submission against the emulator. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type * as pulumi from "@pulumi/pulumi";
import { startEmulator } from "../emulator";
import { submitBatch } from "../examples/dynamic-webhooks/submit-batch";
import { buildReceiver, loadConfig, ReceivedEvent } from "../receiver";
import { TEST_API_KEY } from "./support/emulator";
import { settled, useMocks } from "./support/mocks";
import { waitFor } from "./support/receiver-stub";
import { freePort } from "../scripts/free-port";

test("the receiver container is configured for the JWKS, issuer and its own URL as audience", async () => {
  const registered = await useMocks("gemini-dynamic-webhooks", { port: "9124", geminiOrigin: "http://127.0.0.1:8089" });
  const program = require("../examples/dynamic-webhooks/index") as Record<string, pulumi.Output<unknown>>;
  await settled(program.containerName);
  const container = registered.find((r) => r.type === "docker:index/container:Container")!;
  assert.deepEqual((container.inputs.envs as string[]).slice(0, 3), [
    "JWKS_URI=http://127.0.0.1:8089/.well-known/jwks.json",
    "JWT_ISSUER=http://127.0.0.1:8089",
    "JWT_AUDIENCE=http://127.0.0.1:9124/webhooks/gemini/dynamic",
  ]);
});

test("a batch submitted with webhook_config reaches the receiver, verified through the JWKS", async () => {
  const emulator = await startEmulator({ inMemory: true, apiKey: TEST_API_KEY, jobCompletionDelayMs: 50 });
  const port = await freePort();
  const uri = `http://127.0.0.1:${port}/webhooks/gemini/dynamic`;
  const handled: ReceivedEvent[] = [];
  const receiver = buildReceiver(
    loadConfig({ JWKS_URI: `${emulator.url}/.well-known/jwks.json`, JWT_ISSUER: emulator.url, JWT_AUDIENCE: uri, LOG_LEVEL: "silent" }),
    { handler: async (e) => void handled.push(e) },
  );
  await receiver.app.listen({ port, host: "127.0.0.1" });
  try {
    const name = await submitBatch({ apiUrl: emulator.apiUrl, apiKey: TEST_API_KEY, uris: [uri], userMetadata: { job_group: "nightly-eval" } });
    await waitFor("the batch's event", () => handled.length === 1);
    assert.equal(handled[0].type, "batch.succeeded");
    assert.equal(handled[0].data.id, name);
    assert.deepEqual(handled[0].userMetadata, { job_group: "nightly-eval" });
  } finally {
    await receiver.close();
    await emulator.close();
  }
});
