/**
 * lane: full (the Pulumi CLI and its YAML host)
 * Drift a user sees without asking: examples/yaml-webhooks (copied out of the repository) declares
 * `options: refresh: always` in its Pulumi.yaml, so after Google disables a webhook the next plain
 * `pulumi up` — as the README types it — reads the live state, says so (reason, uri, fix), and with
 * `state: enabled` declared re-enables it with one call. What that costs on a no-op `up` is measured
 * here and stated in docs/rotation.md.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startEmulator, RunningEmulator } from "gemini-webhooks-emulator";
import { closeAllPools } from "gemini-webhooks-client";
import { PulumiProject } from "../../scripts/yaml-project";
import { REPO_ROOT } from "../../scripts/paths";
import { callsDuring as emulatorCalls, TEST_API_KEY } from "../support/emulator";
import { admin } from "../support/admin";

let emulator: RunningEmulator;
let project: PulumiProject;

const callsDuring = (step: () => Promise<unknown>) => emulatorCalls(emulator, step);

beforeAll(async () => {
  emulator = await startEmulator({ inMemory: true, apiKey: TEST_API_KEY });
  project = await PulumiProject.create({ programDir: join(REPO_ROOT, "examples", "yaml-webhooks") });
  await project.ok(["stack", "init", "dev"]);
  await project.ok(["config", "set", "gemini:baseUrl", emulator.url]);
  await project.ok(["config", "set", "--secret", "gemini:apiKey", TEST_API_KEY]);
  await project.ok(["config", "set", "receiverUrl", "http://127.0.0.1:9/orders"]);
});

afterAll(async () => {
  await emulator?.close();
  await closeAllPools();
  project?.remove();
});

test("examples/yaml-webhooks: a webhook Google disabled is reported by the next plain `pulumi up`, and re-enabled with one call once declared enabled", async () => {
  assert.match(project.readProgram(), /^options:\n {2}refresh: always$/m, "the example's Pulumi.yaml refreshes on every up");
  const created = await callsDuring(() => project.ok(["up", "--yes"]));
  assert.equal(created.create, 1);

  // A no-op up, as docs/rotation.md states it: reads only, nothing written.
  const noop = await callsDuring(() => project.ok(["up", "--yes"]));
  console.log(`a no-op \`pulumi up\` with refresh: always: ${JSON.stringify(noop)}`);
  assert.deepEqual(Object.keys(noop).sort(), ["get"], JSON.stringify(noop));
  // One GET per resource (the Webhook, the SecretRotation's webhook) for the refresh of the preview, and again for the update's.
  assert.equal(noop.get, 4, JSON.stringify(noop));
  const skipped = await callsDuring(() => project.ok(["up", "--yes", "--skip-preview"]));
  console.log(`… with --skip-preview: ${JSON.stringify(skipped)}`);
  assert.deepEqual(skipped, { get: 2 });

  const webhookId = (await project.outputs()).webhookId as string;
  assert.equal((await admin(emulator, "POST", `/webhooks/${webhookId}:failDeliveries`, {})).status, 200);
  let said = "";
  const told = await callsDuring(async () => (said = (await project.ok(["up", "--yes"])).output));
  assert.match(said, /disabled_due_to_failed_deliveries/);
  assert.match(said, /Fix: make http:\/\/127\.0\.0\.1:9\/orders answer 2xx, then declare state: "enabled"/);
  assert.equal(told.update, undefined, "with state omitted, nothing is changed behind the user's back");

  // Declared enabled: the next plain up re-enables it with one call, saying why.
  project.writeProgram(project.readProgram().replace("      name: orders\n", "      name: orders\n      state: enabled\n"));
  let upOutput = "";
  const fixed = await callsDuring(async () => (upOutput = (await project.ok(["up", "--yes"])).output));
  assert.equal(fixed.update, 1, JSON.stringify(fixed));
  assert.match(upOutput, /re-enables it with one call/);
  const again = await callsDuring(() => project.ok(["up", "--yes"]));
  assert.equal(again.update, undefined);
  await project.ok(["destroy", "--yes"]);
}, 300_000);
