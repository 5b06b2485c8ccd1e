/**
 * lane: full (the Pulumi engine)
 * A TypeScript program through the real engine against the emulator: `getWebhookOutput` and
 * `getWebhooksOutput` look up a webhook made elsewhere (by id, by name; no secret), and a webhook Google
 * disabled after failed deliveries is said so with `state` omitted, then re-enabled with one call
 * once `state: "enabled"` is declared.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { Stack } from "@pulumi/pulumi/automation";
import { startEmulator, RunningEmulator } from "gemini-webhooks-emulator";
import { closeAllPools, WebhooksClient } from "gemini-webhooks-client";
import { getWebhookOutput, getWebhooksOutput, Webhook } from "pulumi-gemini-webhooks";
import { openStack } from "../../scripts/engine";
import { admin } from "../support/admin";
import { TEST_API_KEY } from "../support/emulator";

let emulator: RunningEmulator;
let stack: Stack;
let workDir: string;
let outsiderId = "";

function program() {
  const config = new pulumi.Config();
  const state = config.get("state") as "enabled" | undefined;
  const hook = new Webhook("hook", { uri: "http://127.0.0.1:9/ts-orders", subscribedEvents: ["batch.succeeded"], ...(state ? { state } : {}) });
  const byId = getWebhookOutput({ id: outsiderId });
  const byName = getWebhooksOutput({ name: "made-elsewhere" });
  return { hookId: hook.id, state: hook.state, byIdUri: byId.uri, byIdEvents: byId.subscribedEvents, byName: byName.webhooks };
}

beforeAll(async () => {
  emulator = await startEmulator({ inMemory: true, apiKey: TEST_API_KEY });
  const client = new WebhooksClient({ baseUrl: emulator.apiUrl, apiKey: TEST_API_KEY });
  outsiderId = (await client.create({ name: "made-elsewhere", uri: "http://127.0.0.1:9/elsewhere", subscribed_events: ["video.generated"] })).id;
  workDir = mkdtempSync(join(tmpdir(), "gemini-lookups-"));
  stack = await openStack({
    projectName: "gemini-lookups",
    stackName: "lookups",
    program: async () => program(),
    backendDir: join(workDir, "state"),
    config: { "gemini:apiKey": { value: TEST_API_KEY, secret: true }, "gemini:baseUrl": { value: emulator.apiUrl } },
  });
});

afterAll(async () => {
  await closeAllPools();
  await emulator?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

test("TypeScript: lookups by id and by name; a webhook disabled after failed deliveries is said so, then re-enabled with one call", async () => {
  await stack.up({ color: "never" });
  const outputs = await stack.outputs();
  assert.equal(outputs.byIdUri.value, "http://127.0.0.1:9/elsewhere");
  assert.deepEqual(outputs.byIdEvents.value, ["video.generated"]);
  assert.deepEqual((outputs.byName.value as { id: string }[]).map((w) => w.id), [outsiderId]);
  for (const { secret } of emulator.ctx.store.validSecrets(outsiderId, emulator.ctx.clock.now())) assert.ok(!JSON.stringify(outputs).includes(secret));

  const hookId = outputs.hookId.value as string;
  assert.equal((await admin(emulator, "POST", `/webhooks/${hookId}:failDeliveries`, {})).status, 200);
  await stack.refresh({ color: "never" });
  let said = "";
  await stack.preview({ color: "never", onOutput: (t) => (said += t) });
  assert.match(said, /kept failing, so it receives no events\. Fix: make http:\/\/127\.0\.0\.1:9\/ts-orders answer 2xx/);

  await stack.setConfig("state", { value: "enabled" });
  const before = { ...emulator.ctx.metrics.calls };
  let upOutput = "";
  await stack.up({ color: "never", onOutput: (t) => (upOutput += t) });
  assert.equal(emulator.ctx.metrics.calls.update - before.update, 1, "one call re-enables it");
  assert.match(upOutput, /re-enables it with one call/);
  assert.equal((await stack.outputs()).state.value, "enabled");
}, 300_000);
