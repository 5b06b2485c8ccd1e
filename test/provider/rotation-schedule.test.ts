/**
 * lane: full (the Pulumi engine)
 * `SecretRotation.rotateAfter` through the real engine (TypeScript program, Automation API) against
 * the emulator: no churn before it is due (0 API calls, no diff), exactly one rotation on the first
 * `up` after it is due, none on refresh or on lengthening the period, one (said so) when a shortened
 * period has already elapsed — and the grace window as with key rotations.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { Stack } from "@pulumi/pulumi/automation";
import { startEmulator, RunningEmulator } from "gemini-webhooks-emulator";
import { closeAllPools } from "gemini-webhooks-client";
import { currentSigningSecrets, SecretRotation, Webhook } from "pulumi-gemini-webhooks";
import { openStack } from "../../scripts/engine";
import { waitFor } from "../../scripts/wait-for";
import { TEST_API_KEY } from "../support/emulator";

let emulator: RunningEmulator;
let stack: Stack;
let workDir: string;
let log = "";

function program() {
  const config = new pulumi.Config();
  const hook = new Webhook("hook", { uri: "https://example.com/hooks/scheduled", subscribedEvents: ["batch.succeeded"] });
  const rotation = new SecretRotation("rotation", { webhookId: hook.id, rotationKey: "fixed", rotateAfter: config.get("rotateAfter") });
  return {
    webhookId: hook.id,
    secret: rotation.secret,
    rotatedAt: rotation.rotatedAt,
    rotationDueAt: rotation.rotationDueAt,
    current: currentSigningSecrets({ webhook: hook, rotation }),
  };
}

const calls = () => ({ ...emulator.ctx.metrics.calls });
function delta(before: Record<string, number>): Record<string, number> {
  const now = calls();
  return Object.fromEntries(Object.entries(now).filter(([k, v]) => v !== before[k]).map(([k, v]) => [k, v - before[k]]));
}

async function up() {
  const before = calls();
  log = "";
  const result = await stack.up({ onOutput: (t) => (log += t), color: "never" });
  const outputs = await stack.outputs();
  return { calls: delta(before), changes: result.summary.resourceChanges ?? {}, out: (k: string) => outputs[k]?.value };
}

beforeAll(async () => {
  emulator = await startEmulator({ inMemory: true, apiKey: TEST_API_KEY });
  workDir = mkdtempSync(join(tmpdir(), "gemini-schedule-"));
  stack = await openStack({
    projectName: "gemini-rotation-schedule",
    stackName: "schedule",
    program: async () => program(),
    backendDir: join(workDir, "state"),
    config: {
      "gemini:apiKey": { value: TEST_API_KEY, secret: true },
      "gemini:baseUrl": { value: emulator.apiUrl },
      rotateAfter: { value: "30s" },
    },
  });
});

afterAll(async () => {
  await closeAllPools();
  await emulator?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

test("rotateAfter: no churn before it is due, exactly one rotation after, none on refresh or a longer period, one (said so) when a shorter period has elapsed", async () => {
  const first = await up();
  assert.deepEqual(first.calls, { create: 1, rotateSigningSecret: 1 });
  const rotatedAt = Date.parse(first.out("rotatedAt") as string);
  assert.equal(Date.parse(first.out("rotationDueAt") as string) - rotatedAt, 30_000);
  const firstSecret = first.out("secret") as string;

  const noop = await up();
  assert.deepEqual(noop.calls, {}, "a no-op up before it is due calls nothing");
  assert.deepEqual(Object.keys(noop.changes), ["same"]);
  const preview = await stack.preview({ color: "never" });
  assert.deepEqual(Object.keys(preview.changeSummary), ["same"], "preview before it is due shows no diff");
  assert.match(preview.stdout + preview.stderr, /next rotation due at|rotation-due/, "preview says when the next rotation is due");

  await waitFor("the rotation to be due", () => Date.now() > rotatedAt + 30_500, 60_000, 250);
  const due = await up();
  assert.deepEqual(due.calls, { rotateSigningSecret: 1 }, "exactly one rotation once due");
  assert.equal(due.changes.replace, 1);
  assert.match(log, /rotation due — last rotated/);
  const secondSecret = due.out("secret") as string;
  assert.notEqual(secondSecret, firstSecret);
  assert.equal((due.out("current") as string[])[0], secondSecret, "receivers get the new secret first, as with a key rotation");
  const valid = emulator.ctx.store.validSecrets(due.out("webhookId") as string, emulator.ctx.clock.now()).map((s) => s.secret);
  assert.ok(valid.includes(firstSecret), "the previous secret keeps working for the grace window");

  const after = await up();
  assert.deepEqual(after.calls, {}, "the next up rotates nothing");

  await stack.setConfig("rotateAfter", { value: "1h" });
  const longer = await up();
  assert.deepEqual(longer.calls, {}, "a longer period is an update in state only");
  assert.equal(longer.changes.update, 1);
  assert.equal(longer.out("secret"), secondSecret);

  const refreshBefore = calls();
  await stack.refresh({ color: "never" });
  assert.equal(delta(refreshBefore).rotateSigningSecret, undefined, "refresh never rotates");

  await new Promise((resolve) => setTimeout(resolve, 5_500));
  await stack.setConfig("rotateAfter", { value: "5s" });
  const shorter = await up();
  assert.deepEqual(shorter.calls, { rotateSigningSecret: 1 }, "a shorter period already elapsed rotates once");
  assert.match(log, /rotateAfter is now 5s, was 1h: that period has already elapsed/);
}, 300_000);
