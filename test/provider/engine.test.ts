/**
 * lane: full (the Pulumi engine)
 * `Webhook` and `SecretRotation` through the real Pulumi engine (Automation API, file:// backend)
 * against the emulator over HTTP. One stack walks the whole lifecycle; each step is a test.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { Stack } from "@pulumi/pulumi/automation";
import { startEmulator, RunningEmulator } from "gemini-webhooks-emulator";
import { currentSigningSecrets, SecretRotation, Webhook } from "pulumi-gemini-webhooks";
import { closeAllPools, WebhooksClient } from "gemini-webhooks-client";
import { openStack } from "../../scripts/engine";
import { TEST_API_KEY } from "../support/emulator";
import { LeakScanner } from "../support/leaks";

interface Spec {
  name?: string;
  uri: string;
  events: string[];
  state?: "enabled" | "disabled";
  adopt?: { name: string; uri: string };
  extra?: number;
  unknownUri?: boolean;
  trigger?: string;
}

const spec: Spec = { name: "orders", uri: "https://example.com/hooks/a", events: ["batch.succeeded", "batch.failed"] };

function program(): Record<string, unknown> {
  const config = new pulumi.Config();
  const hook = new Webhook("hook", { name: spec.name, uri: spec.uri, subscribedEvents: spec.events, state: spec.state });
  const rotationKey = config.get("rotationKey");
  const rotation = rotationKey
    ? new SecretRotation("rotation", {
        webhookId: hook.id,
        rotationKey,
        revocationBehavior: config.get("revocationBehavior"),
      })
    : undefined;
  const outputs: Record<string, unknown> = {
    webhookId: hook.id,
    signingSecret: hook.signingSecret,
    currentSecrets: currentSigningSecrets({ webhook: hook, rotation }),
  };
  if (rotation) outputs.rotatedSecret = rotation.secret;
  if (spec.trigger) {
    // Rotation driven by the engine's replacementTrigger option instead of rotationKey.
    const triggered = new SecretRotation("trigger-rotation", { webhookId: hook.id, rotationKey: "fixed" }, { replacementTrigger: spec.trigger });
    outputs.triggeredSecret = triggered.secret;
  }
  if (spec.adopt) {
    const adopted = new Webhook("adopted", { ...spec.adopt, subscribedEvents: ["video.generated"], adoptExisting: true });
    outputs.adoptedId = adopted.id;
    outputs.adoptedSecret = adopted.signingSecret;
  }
  for (let i = 0; i < (spec.extra ?? 0); i++) {
    new Webhook(`extra-${i}`, { name: `extra-${i}`, uri: `https://example.com/extra/${i}`, subscribedEvents: ["batch.expired"] });
  }
  if (spec.unknownUri) {
    // During preview the id of a webhook not created yet is unknown: the dependent uri is too.
    const first = new Webhook("first", { uri: "https://example.com/first", subscribedEvents: ["batch.succeeded"] });
    new Webhook("dependent", { uri: pulumi.interpolate`https://example.com/after/${first.id}`, subscribedEvents: ["batch.succeeded"] });
  }
  return outputs;
}

/** Every file under `dir` (gzip-compressed state is not used by the file backend by default). */
function readTree(dir: string): { path: string; text: string }[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .map((path) => ({ path, text: readFileSync(path, "utf8") }));
}

let emulator: RunningEmulator;
let stack: Stack;
let client: WebhooksClient;
let workDir: string;
const leaks = new LeakScanner([TEST_API_KEY]);

function calls() {
  return { ...emulator.ctx.metrics.calls };
}
function delta(before: Record<string, number>): Record<string, number> {
  const now = calls();
  return Object.fromEntries(Object.entries(now).filter(([k, v]) => v !== before[k]).map(([k, v]) => [k, v - before[k]]));
}
function validSecrets(id: string): { secret: string; expireTime: number | null }[] {
  return emulator.ctx.store.validSecrets(id, emulator.ctx.clock.now());
}
async function up() {
  const result = await stack.up({ onOutput: leaks.collect, color: "never" });
  const outputs = await stack.outputs();
  return { result, outputs, out: (k: string) => outputs[k]?.value };
}

beforeAll(async () => {
  emulator = await startEmulator({ inMemory: true, apiKey: TEST_API_KEY });
  client = new WebhooksClient({ baseUrl: emulator.apiUrl, apiKey: TEST_API_KEY });
  workDir = mkdtempSync(join(tmpdir(), "gemini-engine-"));
  stack = await openStack({
    projectName: "gemini-engine-test",
    stackName: "lifecycle",
    program: async () => program(),
    backendDir: join(workDir, "state"),
    config: {
      "gemini:apiKey": { value: TEST_API_KEY, secret: true },
      "gemini:baseUrl": { value: emulator.apiUrl },
    },
  });
});

afterAll(async () => {
  await closeAllPools();
  await emulator?.close();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe("Webhook and SecretRotation through the engine", () => {
  let webhookId = "";
  let firstSecret = "";

  test("create makes exactly one API call and returns the secret as an encrypted output", async () => {
    const before = calls();
    const { outputs, out } = await up();
    assert.deepEqual(delta(before), { create: 1 });
    webhookId = out("webhookId") as string;
    firstSecret = out("signingSecret") as string;
    leaks.addSecret(firstSecret);
    assert.equal(outputs.signingSecret.secret, true);
    assert.equal(outputs.currentSecrets.secret, true);
    assert.deepEqual(validSecrets(webhookId).map((s) => s.secret), [firstSecret]);
    const live = await client.get(webhookId);
    assert.equal(live.name, "orders");
    assert.deepEqual(live.subscribed_events, ["batch.failed", "batch.succeeded"]);
  });

  test("a second up with no change makes zero API calls", async () => {
    const before = calls();
    const { result } = await up();
    assert.deepEqual(delta(before), {});
    assert.equal(result.summary.resourceChanges?.update ?? 0, 0);
  });

  test("reordering or repeating events is no change", async () => {
    spec.events = ["batch.failed", "batch.succeeded", "batch.failed"];
    const before = calls();
    await up();
    assert.deepEqual(delta(before), {});
  });

  for (const [title, change, check] of [
    ["rename", () => (spec.name = "orders-v2"), (w: { name?: string }) => assert.equal(w.name, "orders-v2")],
    ["new uri", () => (spec.uri = "https://example.com/hooks/b"), (w: { uri: string }) => assert.equal(w.uri, "https://example.com/hooks/b")],
    [
      "new events",
      () => (spec.events = ["video.generated", "batch.succeeded"]),
      (w: { subscribed_events: string[] }) => assert.deepEqual(w.subscribed_events, ["batch.succeeded", "video.generated"]),
    ],
    ["disable", () => (spec.state = "disabled"), (w: { state?: string }) => assert.equal(w.state, "disabled")],
    ["enable", () => (spec.state = "enabled"), (w: { state?: string }) => assert.equal(w.state, "enabled")],
  ] as const) {
    test(`${title}: one PATCH, no replacement, secret unchanged`, async () => {
      change();
      const before = calls();
      const { result, out } = await up();
      assert.deepEqual(delta(before), { update: 1 });
      assert.equal(result.summary.resourceChanges?.update, 1);
      assert.equal(out("webhookId"), webhookId);
      assert.equal(out("signingSecret"), firstSecret);
      check((await client.get(webhookId)) as never);
    });
  }

  test("an edit outside Pulumi is seen by refresh and reverted by the next up, in place", async () => {
    await client.update(webhookId, { uri: "https://example.com/hooks/edited-in-console", subscribed_events: ["batch.expired"] });
    await stack.refresh({ onOutput: leaks.collect, color: "never" });
    const before = calls();
    const { out } = await up();
    assert.deepEqual(delta(before), { update: 1 });
    assert.equal(out("webhookId"), webhookId);
    const live = await client.get(webhookId);
    assert.equal(live.uri, "https://example.com/hooks/b");
    assert.deepEqual(live.subscribed_events, ["batch.succeeded", "video.generated"]);
    const again = calls();
    await up();
    assert.deepEqual(delta(again), {}, "converged: no perpetual diff");
  });

  let rotatedSecret = "";
  test("setting rotationKey rotates once; the old secret keeps a 24 h grace", async () => {
    await stack.setConfig("rotationKey", { value: "2026-12" });
    const before = calls();
    const { outputs, out } = await up();
    assert.deepEqual(delta(before), { rotateSigningSecret: 1 });
    rotatedSecret = out("rotatedSecret") as string;
    leaks.addSecret(rotatedSecret);
    assert.equal(outputs.rotatedSecret.secret, true);
    assert.notEqual(rotatedSecret, firstSecret);
    const secrets = validSecrets(webhookId);
    assert.deepEqual(secrets.map((s) => s.secret), [rotatedSecret, firstSecret]);
    const graceMs = (secrets[1].expireTime ?? 0) - Date.now();
    assert.ok(graceMs > 23.9 * 3600e3 && graceMs <= 24 * 3600e3, `grace ${graceMs} ms`);
    assert.deepEqual(out("currentSecrets"), [rotatedSecret, firstSecret], "the receiver gets both during the grace");
    assert.equal(out("signingSecret"), firstSecret, "the Webhook keeps its creation secret");
  });

  test("the same rotationKey again rotates nothing", async () => {
    const before = calls();
    await up();
    assert.deepEqual(delta(before), {});
  });

  test("a new rotationKey with immediate revocation drops every older secret at once", async () => {
    await stack.setConfig("rotationKey", { value: "2027-01" });
    await stack.setConfig("revocationBehavior", { value: "REVOKE_PREVIOUS_SECRETS_IMMEDIATELY" });
    const before = calls();
    const { out } = await up();
    assert.deepEqual(delta(before), { rotateSigningSecret: 1 });
    const newest = out("rotatedSecret") as string;
    leaks.addSecret(newest);
    assert.deepEqual(validSecrets(webhookId).map((s) => s.secret), [newest]);
    assert.deepEqual(out("currentSecrets"), [newest]);
    rotatedSecret = newest;
  });

  test("a rotation outside Pulumi is reported on refresh with the fix", async () => {
    const { secret } = await client.rotateSigningSecret(webhookId, "revoke_previous_secrets_immediately");
    leaks.addSecret(secret);
    const lines: string[] = [];
    await stack.refresh({ onOutput: (t) => (lines.push(t), leaks.collect(t)), color: "never" });
    const text = lines.join("");
    assert.match(text, /a later rotation of webhook .* superseded this one/);
    assert.match(text, /Change rotationKey and run `pulumi up`/);
    assert.match(text, /signing secret in state is no longer valid/);
    await stack.setConfig("rotationKey", { value: "2027-02" });
    await stack.removeConfig("revocationBehavior");
    const { out } = await up();
    rotatedSecret = out("rotatedSecret") as string;
    leaks.addSecret(rotatedSecret);
  });

  test("an out-of-band delete is noticed by refresh, and up recreates the webhook", async () => {
    await client.delete(webhookId);
    await stack.refresh({ onOutput: leaks.collect, color: "never" });
    const before = calls();
    const { out } = await up();
    assert.equal(delta(before).create, 1);
    assert.equal(delta(before).rotateSigningSecret, 1, "the rotation follows its webhook");
    assert.notEqual(out("webhookId"), webhookId);
    webhookId = out("webhookId") as string;
    leaks.addSecret(out("signingSecret") as string);
    leaks.addSecret(out("rotatedSecret") as string);
    assert.equal((await client.get(webhookId)).name, "orders-v2");
  });

  test("preview with inputs unknown until apply calls no API and creates nothing", async () => {
    spec.unknownUri = true;
    const before = calls();
    const preview = await stack.preview({ onOutput: leaks.collect, color: "never" });
    assert.equal(preview.changeSummary.create, 2);
    assert.deepEqual(delta(before), {});
    spec.unknownUri = false;
  });

  test("adoptExisting adopts a webhook with the same name and uri instead of duplicating it", async () => {
    const existing = await client.create({ name: "legacy", uri: "https://example.com/legacy", subscribed_events: ["batch.failed"] });
    leaks.addSecret(existing.new_signing_secret!);
    spec.adopt = { name: "legacy", uri: "https://example.com/legacy" };
    const countBefore = emulator.ctx.store.countWebhooks();
    const before = calls();
    const { out, outputs } = await up();
    assert.equal(delta(before).create, undefined, "no create call");
    assert.equal(emulator.ctx.store.countWebhooks(), countBefore);
    assert.equal(out("adoptedId"), existing.id);
    const adoptedSecret = out("adoptedSecret") as string;
    leaks.addSecret(adoptedSecret);
    assert.equal(outputs.adoptedSecret.secret, true);
    assert.deepEqual(validSecrets(existing.id).map((s) => s.secret), [adoptedSecret, existing.new_signing_secret]);
    assert.deepEqual((await client.get(existing.id)).subscribed_events, ["video.generated"], "the program's events apply");
  });

  test("a bad input fails the update with the property named and creates nothing", async () => {
    const saved = spec.events;
    spec.events = ["batch.succeeded", "batch.cancelled"];
    const before = calls();
    await assert.rejects(up(), (err: Error) => {
      assert.match(err.message, /subscribedEvents/);
      assert.match(err.message, /unknown event "batch.cancelled"/);
      assert.match(err.message, /valid events: batch.succeeded, batch.expired/);
      return true;
    });
    assert.deepEqual(delta(before), {});
    spec.events = saved;
  });

  test("20 webhooks converge under 20% injected 429/503 and lost answers, with no duplicates", async () => {
    emulator.ctx.faults.configure({ "*": { rate429: 0.1, rate503: 0.1, retryAfterSeconds: 0 }, create: { rate429: 0.1, rate503: 0.1, rateDropAfter: 0.1, retryAfterSeconds: 0 } });
    try {
      spec.extra = 20;
      await up();
      const names = [];
      for await (const w of client.listAll()) names.push(w.name);
      const extras = names.filter((n) => n?.startsWith("extra-"));
      assert.equal(extras.length, 20);
      assert.equal(new Set(extras).size, 20);
      const before = calls();
      await up();
      assert.deepEqual(delta(before), {}, "a second up is a no-op");
      spec.extra = 0;
      await up();
      const left = [];
      for await (const w of client.listAll()) if (w.name?.startsWith("extra-")) left.push(w.id);
      assert.deepEqual(left, []);
    } finally {
      emulator.ctx.faults.configure({});
    }
  });

  test("the replacementTrigger option rotates too: once per new trigger value, never on a repeat", async () => {
    spec.trigger = "2026-12";
    let before = calls();
    await up();
    assert.deepEqual(delta(before), { rotateSigningSecret: 1 });
    before = calls();
    await up();
    assert.deepEqual(delta(before), {});
    spec.trigger = "2027-01";
    before = calls();
    const { out } = await up();
    assert.deepEqual(delta(before), { rotateSigningSecret: 1 }, "replace = one rotation; deleting the old rotation calls nothing");
    leaks.addSecret(out("triggeredSecret") as string);
    spec.trigger = undefined;
    before = calls();
    await up();
    assert.deepEqual(delta(before), {}, "removing a SecretRotation makes no API call");
  });

  test("state at rest (every backend file, history and backups included) and engine output hold no plaintext secret", async () => {
    for (const row of emulator.ctx.store.db.prepare("SELECT secret FROM secrets").all() as { secret: string }[]) {
      leaks.addSecret(row.secret);
    }
    const files = readTree(join(workDir, "state"));
    assert.ok(files.some((f) => f.path.endsWith("lifecycle.json")), "the stack's state file was read");
    for (const file of files) leaks.assertClean(file.path, file.text);
    leaks.assertClean("engine output", leaks.collected());
    const state = files.find((f) => f.path.endsWith("lifecycle.json"))!.text;
    assert.match(state, /"__provider"/);
    assert.match(state, /"signingSecret":\{"4dabf18193072939515e22adb298388d":"1b47061264138c4ac30d75fd1eb44270","ciphertext":"v1:/);
    assert.match(state, /"secret":\{"4dabf18193072939515e22adb298388d":"1b47061264138c4ac30d75fd1eb44270","ciphertext":"v1:/);
  });

  test("destroy leaves the emulator's list empty", async () => {
    await stack.destroy({ onOutput: leaks.collect, color: "never" });
    const left = [];
    for await (const w of client.listAll()) left.push(w.id);
    assert.deepEqual(left, []);
  });
});
