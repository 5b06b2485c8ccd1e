/**
 * lane: full (the Pulumi engine)
 * examples/yaml-webhooks through the real `pulumi` CLI and the gemini plugin installed from its
 * release tarball, against the emulator (the example refreshes on every up: reads are counted apart
 * from writes): preview, up, a no-op up, an update in place, a rotation
 * by config, refresh after an out-of-band delete, `pulumi import` of a webhook made outside Pulumi,
 * destroy — API calls counted at each step, every backend file and every printed line scanned.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startEmulator, RunningEmulator } from "gemini-webhooks-emulator";
import { closeAllPools, truncatedMatches, WebhooksClient } from "gemini-webhooks-client";
import { REPO_ROOT } from "../../scripts/paths";
import { LeakScanner } from "../support/leaks";
import { PulumiProject } from "../../scripts/yaml-project";
import { TEST_API_KEY } from "../support/emulator";

let emulator: RunningEmulator;
let project: PulumiProject;
let client: WebhooksClient;
const leaks = new LeakScanner([TEST_API_KEY]);

beforeAll(async () => {
  emulator = await startEmulator({ inMemory: true, apiKey: TEST_API_KEY });
  client = new WebhooksClient({ baseUrl: emulator.apiUrl, apiKey: TEST_API_KEY });
  project = await PulumiProject.create({ programDir: join(REPO_ROOT, "examples", "yaml-webhooks") });
  await project.ok(["stack", "init", "dev"]);
  await project.ok(["config", "set", "gemini:baseUrl", emulator.url]);
  await project.ok(["config", "set", "--secret", "gemini:apiKey", TEST_API_KEY]);
});

afterAll(async () => {
  await emulator?.close();
  await closeAllPools();
  project?.remove();
});

/** Reads made by the last `callsDuring` step: the example refreshes on every preview and up (`options: refresh: always`). */
let lastReads = 0;

/**
 * API writes made by `step`, by method (zero counts left out). Its reads (`get`: the refresh the
 * example's Pulumi.yaml asks for, one per resource in state for the preview and again for the
 * update) are kept in `lastReads`; test/plugin/yaml-drift.test.ts pins their count.
 */
async function callsDuring(step: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = { ...emulator.ctx.metrics.calls };
  await step();
  const delta: Record<string, number> = {};
  lastReads = 0;
  for (const [method, n] of Object.entries(emulator.ctx.metrics.calls)) {
    const made = n - before[method as keyof typeof before];
    if (made === 0) continue;
    if (method === "get") lastReads = made;
    else delta[method] = made;
  }
  return delta;
}

/** Every secret the emulator holds now, so the scans look for all of them. */
function collectSecrets(): void {
  for (const hook of emulator.ctx.store.listWebhooks(0, 1000)) {
    for (const s of emulator.ctx.store.validSecrets(hook.id, Date.now())) leaks.addSecret(s.secret);
  }
}

test("preview makes no API call; up makes one per resource and the receiver's secrets come out as a secret", async () => {
  const preview = await callsDuring(async () => {
    const res = await project.ok(["preview"]);
    assert.match(res.stdout, /\+ 3 to create/);
  });
  assert.deepEqual(preview, {});
  assert.equal(lastReads, 0, "nothing in state yet: nothing to refresh");

  const up = await callsDuring(() => project.ok(["up", "--yes"]));
  assert.deepEqual(up, { create: 1, rotateSigningSecret: 1 });
  collectSecrets();

  const outputs = await project.outputs();
  const webhook = await client.get(outputs.webhookId as string);
  const secrets = (outputs.signingSecrets as string).split(" ");
  assert.equal(secrets.length, 2, "the rotation's secret and, in its grace window, the creation secret");
  for (const s of secrets) assert.ok(webhook.signing_secrets!.some((live) => truncatedMatches(live.truncated_secret, s)));
  const plain = await project.ok(["stack", "output", "--json"]);
  assert.equal(JSON.parse(plain.stdout).signingSecrets, "[secret]");
});

test("a second up with nothing changed writes nothing; its refresh reads each webhook (2 resources × preview and update)", async () => {
  const calls = await callsDuring(async () => {
    const res = await project.ok(["up", "--yes"]);
    assert.match(res.stdout, /3 unchanged/);
  });
  assert.deepEqual(calls, {});
  assert.equal(lastReads, 4);
});

test("an edited property updates in place with one call, keeping the id and the secret", async () => {
  const before = await project.outputs();
  project.writeProgram(project.readProgram().replace("name: orders\n", "name: orders-eu\n"));
  const calls = await callsDuring(async () => {
    const res = await project.ok(["up", "--yes"]);
    assert.match(res.stdout, /~ 1 updated/);
  });
  assert.deepEqual(calls, { update: 1 });
  const after = await project.outputs();
  assert.equal(after.webhookId, before.webhookId);
  assert.equal(after.signingSecrets, before.signingSecrets);
  assert.equal((await client.get(after.webhookId as string)).name, "orders-eu");
});

test("a new rotationKey rotates once (create before delete); the old secret stays valid for the grace window", async () => {
  const before = ((await project.outputs()).signingSecrets as string).split(" ");
  await project.ok(["config", "set", "rotationKey", "2027-01"]);
  const calls = await callsDuring(async () => {
    const res = await project.ok(["up", "--yes"]);
    assert.match(res.stdout, /\+-1 replaced/);
  });
  assert.deepEqual(calls, { rotateSigningSecret: 1 });
  collectSecrets();
  const outputs = await project.outputs();
  const after = (outputs.signingSecrets as string).split(" ");
  assert.notEqual(after[0], before[0], "a new newest secret");
  assert.equal(after[1], before[1], "the creation secret, still in its grace window");
  const live = (await client.get(outputs.webhookId as string)).signing_secrets!;
  assert.ok(live.some((s) => truncatedMatches(s.truncated_secret, before[0])), "the replaced rotation's secret still works for 24 h");
});

test("refresh after an out-of-band delete drops the webhook and its rotation; up recreates them", async () => {
  const { webhookId } = await project.outputs();
  await client.delete(webhookId as string);
  await project.ok(["refresh", "--yes"]);
  const types = (await project.resources()).map((r) => r.type);
  assert.ok(!types.includes("gemini:index:Webhook") && !types.includes("gemini:index:SecretRotation"), types.join(", "));
  const calls = await callsDuring(() => project.ok(["up", "--yes"]));
  assert.deepEqual(calls, { create: 1, rotateSigningSecret: 1 });
  collectSecrets();
  assert.notEqual((await project.outputs()).webhookId, webhookId);
});

test("pulumi import adopts a live webhook with its inputs read back (no diff), says it holds no secret, and a rotation brings one", async () => {
  const legacy = await client.create({ name: "legacy", uri: "https://example.com/legacy", subscribed_events: ["batch.expired", "interaction.completed"] });
  leaks.addSecret(legacy.new_signing_secret);
  const imported = await project.ok(["import", "gemini:index:Webhook", "legacy", legacy.id, "--yes", "--protect=false", "--out", "imported.yaml"]);
  assert.match(imported.output, /holds none/);
  assert.match(imported.output, /add a SecretRotation/);

  // The generated declaration, pasted into the program as the CLI asks: no diff.
  const generated = readFileSync(join(project.dir, "imported.yaml"), "utf8").replace(/^resources:\n/, "");
  project.writeProgram(project.readProgram().replace("\nvariables:", `\n${generated}\nvariables:`));
  const noDiff = await callsDuring(() => project.ok(["preview", "--expect-no-changes"]));
  assert.equal(noDiff.update ?? 0, 0);

  const state = (await project.resources()).find((r) => r.id === legacy.id)!;
  assert.equal(state.outputs!.signingSecret ?? null, null);

  project.writeProgram(
    project.readProgram().replace(
      "\nvariables:",
      "\n  legacyRotation:\n    type: gemini:SecretRotation\n    properties:\n      webhookId: ${legacy.id}\n      rotationKey: adopted\n\nvariables:",
    ),
  );
  const calls = await callsDuring(() => project.ok(["up", "--yes"]));
  assert.deepEqual(calls, { rotateSigningSecret: 1 });
  collectSecrets();
  const live = (await client.get(legacy.id)).signing_secrets!;
  assert.equal(live.length, 2, "the new secret, and the pre-import one in its grace window");
});

test("destroy deletes each webhook with one call and rotations with none", async () => {
  collectSecrets();
  const calls = await callsDuring(() => project.ok(["destroy", "--yes"]));
  assert.deepEqual(calls, { delete: 2 });
  assert.equal(emulator.ctx.store.countWebhooks(), 0);
});

test("no secret and no API key in plaintext in any backend file, stack file or printed line", () => {
  leaks.assertClean("the backend and project files", project.backendFiles());
  leaks.assertClean("the CLI's output", project.transcript.join("\n"));
  assert.match(project.backendFiles(), /"ciphertext"/, "secrets are stored, encrypted");
});
