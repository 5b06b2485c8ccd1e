/**
 * lane: full (the Pulumi engine)
 * Adversarial: 100 webhooks created, updated and destroyed through the real engine while 20 % of
 * API calls fail (429, 503, or the connection dropped after the emulator acted). Afterwards the
 * emulator holds exactly the expected webhooks (0 orphans, 0 duplicates), state matches reality,
 * and a second `up` is a no-op.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { startEmulator, RunningEmulator } from "gemini-webhooks-emulator";
import { Webhook } from "pulumi-gemini-webhooks";
import { closeAllPools, WebhooksClient } from "gemini-webhooks-client";
import { openStack } from "../../scripts/engine";
import { TEST_API_KEY } from "../support/emulator";

const N = process.env.GEMINI_ADVERSARIAL_LONG === "1" ? 300 : 100;
let version = 1;
let count = N;
let emulator: RunningEmulator;
let stack: Stack;
let client: WebhooksClient;
const dir = mkdtempSync(join(tmpdir(), "gemini-faults-"));

beforeAll(async () => {
  emulator = await startEmulator({ inMemory: true, apiKey: TEST_API_KEY });
  client = new WebhooksClient({ baseUrl: emulator.apiUrl, apiKey: TEST_API_KEY });
  stack = await openStack({
    projectName: "faults",
    stackName: "dev",
    backendDir: dir,
    program: async () => {
      for (let i = 0; i < count; i++) {
        new Webhook(`w${i}`, { name: `faults-${i}`, uri: `https://example.com/v${version}/${i}`, subscribedEvents: ["batch.succeeded"] });
      }
    },
    config: { "gemini:apiKey": { value: TEST_API_KEY, secret: true }, "gemini:baseUrl": { value: emulator.apiUrl } },
  });
  // 20 % of every call fails: 7 % 429, 7 % 503, 6 % dropped after the emulator acted.
  emulator.ctx.faults.configure({ "*": { rate429: 0.07, rate503: 0.07, rateDropAfter: 0.06, retryAfterSeconds: 0 } });
});

afterAll(async () => {
  await closeAllPools();
  await emulator?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function live(): Promise<Map<string, { name?: string; uri: string }>> {
  const all = new Map<string, { name?: string; uri: string }>();
  for await (const w of client.listAll()) all.set(w.id, w);
  return all;
}

async function stateMatchesReality(): Promise<void> {
  const resources = ((await stack.exportStack()).deployment.resources as { type: string; id?: string; outputs?: { name: string; uri: string } }[]).filter(
    (r) => r.type === "pulumi-nodejs:dynamic/gemini:Webhook",
  );
  const reality = await live();
  assert.equal(resources.length, count, "resources in state");
  assert.equal(reality.size, count, "webhooks in the emulator (orphans or duplicates otherwise)");
  assert.equal(new Set([...reality.values()].map((w) => w.name)).size, count, "no duplicate names");
  for (const r of resources) {
    const w = reality.get(r.id!);
    assert.ok(w, `state holds ${r.id}, which the emulator does not`);
    assert.equal(w.uri, r.outputs!.uri);
    assert.equal(w.name, r.outputs!.name);
  }
}

test(`${N} webhooks converge under 20 % injected faults: create, no-op, update, destroy`, async () => {
  await stack.up({ parallel: 16 });
  await stateMatchesReality();

  emulator.ctx.faults.configure({});
  const callsBefore = Object.values(emulator.ctx.metrics.calls).reduce((a, b) => a + b, 0);
  await stack.up();
  assert.equal(Object.values(emulator.ctx.metrics.calls).reduce((a, b) => a + b, 0), callsBefore, "the second up made API calls");
  emulator.ctx.faults.configure({ "*": { rate429: 0.07, rate503: 0.07, rateDropAfter: 0.06, retryAfterSeconds: 0 } });

  version = 2;
  await stack.up({ parallel: 16 });
  await stateMatchesReality();
  for (const w of (await live()).values()) assert.match(w.uri, /\/v2\//);

  count = N / 2;
  await stack.up({ parallel: 16 });
  await stateMatchesReality();

  await stack.destroy({ parallel: 16 });
  assert.equal((await live()).size, 0, "destroy left webhooks behind");
  const injected = emulator.ctx.faults.injected;
  console.log(`faults injected: ${injected.status429} x 429, ${injected.status503} x 503, ${injected.dropped} dropped after acting`);
  assert.ok(injected.dropped > 0 && injected.status429 > 0 && injected.status503 > 0);
});
