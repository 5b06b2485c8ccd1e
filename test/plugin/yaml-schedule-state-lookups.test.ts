/**
 * lane: full (the Pulumi engine)
 * Through the `pulumi` command with a YAML program and the plugin from its release tarball, against
 * the emulator: `rotateAfter` (no churn before it is due, exactly one rotation after), a webhook Google
 * disabled after failed deliveries (said on every preview with `state` omitted; re-enabled with one
 * call when `state: enabled` is declared), and lookups by id and by name (`fn::invoke`).
 */
import assert from "node:assert/strict";
import { startEmulator, RunningEmulator } from "gemini-webhooks-emulator";
import { closeAllPools, WebhooksClient } from "gemini-webhooks-client";
import { PulumiProject } from "../../scripts/yaml-project";
import { admin } from "../support/admin";
import { callsDuring as emulatorCalls, TEST_API_KEY } from "../support/emulator";

let emulator: RunningEmulator;
let project: PulumiProject;
let client: WebhooksClient;
let outsiderId = "";

const program = (state: "" | "enabled") => `name: schedule-state-lookups
runtime: yaml
resources:
  orders:
    type: gemini:Webhook
    properties:
      name: orders
      uri: http://127.0.0.1:9/orders
      subscribedEvents: [batch.succeeded]
${state ? `      state: ${state}\n` : ""}  ordersRotation:
    type: gemini:SecretRotation
    properties:
      webhookId: \${orders.id}
      rotationKey: fixed
      rotateAfter: 30s
variables:
  byId:
    fn::invoke:
      function: gemini:getWebhook
      arguments:
        id: ${outsiderId}
  byName:
    fn::invoke:
      function: gemini:getWebhooks
      arguments:
        name: made-elsewhere
outputs:
  ordersId: \${orders.id}
  ordersState: \${orders.state}
  rotatedAt: \${ordersRotation.rotatedAt}
  rotationDueAt: \${ordersRotation.rotationDueAt}
  outsiderUri: \${byId.uri}
  outsiderEvents: \${byId.subscribedEvents}
  byName: \${byName.webhooks}
`;

const callsDuring = (step: () => Promise<unknown>) => emulatorCalls(emulator, step);

beforeAll(async () => {
  emulator = await startEmulator({ inMemory: true, apiKey: TEST_API_KEY });
  client = new WebhooksClient({ baseUrl: emulator.apiUrl, apiKey: TEST_API_KEY });
  outsiderId = (await client.create({ name: "made-elsewhere", uri: "http://127.0.0.1:9/elsewhere", subscribed_events: ["video.generated", "batch.failed"] })).id;
  project = await PulumiProject.create({ yaml: program("") });
  await project.ok(["stack", "init", "dev"]);
  await project.ok(["config", "set", "gemini:baseUrl", emulator.url]);
  await project.ok(["config", "set", "--secret", "gemini:apiKey", TEST_API_KEY]);
});

afterAll(async () => {
  await emulator?.close();
  await closeAllPools();
  project?.remove();
});

test("YAML: lookups by id and name; rotateAfter without churn, then exactly one rotation; a disabled webhook said so, then re-enabled", async () => {
  const created = await callsDuring(() => project.ok(["up", "--yes"]));
  assert.equal(created.create, 1);
  assert.equal(created.rotateSigningSecret, 1);
  const outputs = await project.outputs();
  assert.equal(outputs.outsiderUri, "http://127.0.0.1:9/elsewhere");
  assert.deepEqual(outputs.outsiderEvents, ["batch.failed", "video.generated"]);
  const byName = outputs.byName as { id: string; name: string }[];
  assert.deepEqual(byName.map((w) => [w.id, w.name]), [[outsiderId, "made-elsewhere"]]);
  for (const { secret } of emulator.ctx.store.validSecrets(outsiderId, emulator.ctx.clock.now())) {
    assert.ok(!JSON.stringify(outputs).includes(secret), "lookups return no secret (truncated ones only)");
  }
  const rotatedAt = Date.parse(outputs.rotatedAt as string);
  assert.equal(Date.parse(outputs.rotationDueAt as string) - rotatedAt, 30_000);

  // Before it is due: no diff, and no call but the lookups'.
  const preview = await project.ok(["preview", "--diff"]);
  assert.match(preview.stdout, /2 unchanged|unchanged/);
  assert.doesNotMatch(preview.stdout, /to replace|to update/);
  assert.match(preview.stdout + preview.stderr, /next rotation due at|rotation-due/);
  const noop = await callsDuring(() => project.ok(["up", "--yes"]));
  // docs/reference.md: a lookup is one call each time the program runs — twice in an `up` (its preview, then its update).
  assert.equal(noop.get, 2, `getWebhook: ${JSON.stringify(noop)}`);
  assert.equal(noop.list, 2, `getWebhooks: ${JSON.stringify(noop)}`);
  assert.equal(noop.rotateSigningSecret, undefined);
  assert.equal(noop.create, undefined);
  assert.equal(noop.update, undefined);

  // Google disables it after failed deliveries; with `state` omitted every preview says so.
  const ordersId = outputs.ordersId as string;
  assert.equal((await admin(emulator, "POST", `/webhooks/${ordersId}:failDeliveries`, {})).status, 200);
  const refreshed = await project.ok(["refresh", "--yes"]);
  assert.match(refreshed.stdout + refreshed.stderr, /disabled_due_to_failed_deliveries/);
  const orders = (await project.resources()).find((r) => r.type === "gemini:index:Webhook")!;
  assert.equal(orders.outputs?.state, "disabled_due_to_failed_deliveries", "refresh shows the state Google set");
  const told = await project.ok(["preview"]);
  assert.match(told.stdout + told.stderr, /kept failing, so it receives no events\. Fix: make http:\/\/127\.0\.0\.1:9\/orders answer 2xx, then declare state: "enabled"/);

  // Past the due time: exactly one rotation; declared `enabled`: one call re-enables it, with the reason.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, rotatedAt + 30_500 - Date.now())));
  project.writeProgram(program("enabled"));
  let upOutput = "";
  const due = await callsDuring(async () => (upOutput = (await project.ok(["up", "--yes"])).output));
  assert.equal(due.rotateSigningSecret, 1, "exactly one rotation once due");
  assert.equal(due.update, 1, "one call re-enables the webhook");
  assert.match(upOutput, /rotation due — last rotated/);
  assert.match(upOutput, /declares state "enabled", so this update re-enables it with one call/);
  assert.equal((await client.get(ordersId)).state, "enabled");

  const after = await callsDuring(() => project.ok(["up", "--yes"]));
  assert.equal(after.rotateSigningSecret, undefined, "the next up rotates nothing");
  assert.equal(after.update, undefined);
}, 300_000);
