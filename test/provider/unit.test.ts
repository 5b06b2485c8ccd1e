/**
 * The provider implementation's methods called directly (as the engine would), against the
 * emulator: check's failures and normalisation, diff with unknowns and provider-code changes,
 * update carrying every output forward, read of a deleted webhook.
 */
import assert from "node:assert/strict";
import { startEmulator, RunningEmulator } from "gemini-webhooks-emulator";
import { closeAllPools } from "gemini-webhooks-client";
import { configure } from "../../provider/src/impl/context";
import * as rotation from "../../provider/src/impl/rotation-provider";
import { dueAt, dueSoon, durationMs } from "../../provider/src/impl/rotation-schedule";
import { UNKNOWN } from "../../provider/src/impl/unknown";
import * as webhook from "../../provider/src/impl/webhook-provider";
import { resolveSettings } from "../../provider/src/settings";
import { TEST_API_KEY } from "../support/emulator";

let emulator: RunningEmulator;
beforeAll(async () => {
  emulator = await startEmulator({ inMemory: true, apiKey: TEST_API_KEY });
  configure({ get: (k) => ({ "gemini:apiKey": TEST_API_KEY, "gemini:baseUrl": emulator.apiUrl })[k] });
});
afterAll(async () => {
  await closeAllPools();
  await emulator.close();
});

describe("Webhook check", () => {
  test("names each bad property, lists the valid events, normalises the rest", async () => {
    const bad = await webhook.check({}, { uri: "ftp://x", subscribedEvents: ["batch.cancelled", "BATCH.FAILED"], name: 7, state: "paused", adoptExisting: "yes" });
    const by = Object.fromEntries((bad.failures ?? []).map((f) => [f.property, f.reason]));
    assert.match(by.uri, /absolute http:\/\/ or https:\/\/ URL/);
    assert.match(by.subscribedEvents, /unknown event "batch.cancelled" \(the guide lists it, but the API does not accept it\); valid events: batch.succeeded/);
    assert.match(by.name, /must be a string/);
    assert.match(by.state, /"enabled" or "disabled"/);
    assert.match(by.adoptExisting, /boolean/);
    const missing = await webhook.check({}, {});
    assert.deepEqual((missing.failures ?? []).map((f) => [f.property, f.reason]), [["uri", "is required"], ["subscribedEvents", "is required"]]);
    const good = await webhook.check({}, { uri: "https://e.com/h", subscribedEvents: ["video.generated", "BATCH.FAILED", "video.generated"], state: "DISABLED" });
    assert.deepEqual(good.failures, []);
    assert.deepEqual(good.inputs?.subscribedEvents, ["batch.failed", "video.generated"]);
    assert.equal(good.inputs?.state, "disabled");
  });

  test("unknown values during preview pass check untouched", async () => {
    const result = await webhook.check({}, { uri: UNKNOWN, subscribedEvents: [UNKNOWN, "batch.failed"] });
    assert.deepEqual(result.failures, []);
    assert.equal(result.inputs?.uri, UNKNOWN);
  });
});

describe("Webhook diff, update, read", () => {
  test("lifecycle by direct calls: no replacement ever, provider-code change persisted without an API call", async () => {
    const inputs = { uri: "https://e.com/a", subscribedEvents: ["batch.failed"] as never[], __provider: "v1" };
    const created = await webhook.create(inputs);
    const outs = { ...(created.outs as webhook.WebhookOutputs), __provider: "v1" };
    assert.ok(outs.signingSecret?.startsWith("whsec_"));
    assert.ok(Object.values(outs).every((v) => v !== undefined), "outputs hold no undefined");

    assert.deepEqual(await webhook.diff(created.id, outs, inputs), { changes: false, replaces: [], deleteBeforeReplace: false });
    assert.deepEqual((await webhook.diff(created.id, outs, { ...inputs, uri: UNKNOWN })).replaces, []);
    assert.equal((await webhook.diff(created.id, outs, { ...inputs, uri: UNKNOWN })).changes, true);
    assert.equal((await webhook.diff(created.id, outs, { ...inputs, __provider: "v2" })).changes, true);

    const calls = { ...emulator.ctx.metrics.calls };
    const persisted = await webhook.update(created.id, outs, { ...inputs, __provider: "v2" } as never);
    assert.deepEqual(emulator.ctx.metrics.calls, calls, "a provider-code change made an API call");
    assert.equal((persisted.outs as webhook.WebhookOutputs).signingSecret, outs.signingSecret);

    const renamed = await webhook.update(created.id, outs, { ...inputs, name: "renamed" } as never);
    assert.equal((renamed.outs as webhook.WebhookOutputs).name, "renamed");
    assert.equal((renamed.outs as webhook.WebhookOutputs).signingSecret, outs.signingSecret, "update carries the secret forward");

    await webhook.remove(created.id);
    await webhook.remove(created.id); // a 404 counts as done
    assert.deepEqual(await webhook.read(created.id, outs), {});
    await assert.rejects(webhook.update(created.id, outs, { ...inputs, name: "x" } as never), /no longer exists.*pulumi refresh/);
  });
});

describe("SecretRotation", () => {
  test("accepts the guide's spelling, replaces on key or webhook change, updates in place on behaviour", async () => {
    const checked = await rotation.check({}, { webhookId: "w", rotationKey: 202612, revocationBehavior: "REVOKE_PREVIOUS_SECRETS_IMMEDIATELY" });
    assert.deepEqual(checked.failures, []);
    assert.equal(checked.inputs?.revocationBehavior, "revoke_previous_secrets_immediately");
    assert.equal(checked.inputs?.rotationKey, "202612");
    const bad = await rotation.check({}, { webhookId: "", revocationBehavior: "later" });
    assert.deepEqual((bad.failures ?? []).map((f) => f.property).sort(), ["revocationBehavior", "rotationKey", "webhookId"]);

    const olds = { webhookId: "w", rotationKey: "a", revocationBehavior: "revoke_previous_secrets_after_h24", secret: "s", rotatedAt: "", previousSecretsExpireAt: null, superseded: false, __provider: "p" } as const;
    assert.deepEqual((await rotation.diff("id", olds as never, { ...olds, rotationKey: "b" } as never)).replaces, ["rotationKey"]);
    assert.deepEqual((await rotation.diff("id", olds as never, { ...olds, rotationKey: UNKNOWN } as never)).replaces, ["rotationKey"]);
    assert.deepEqual((await rotation.diff("id", olds as never, { ...olds, webhookId: "w2" } as never)).replaces, ["webhookId"]);
    const behaviour = await rotation.diff("id", olds as never, { ...olds, revocationBehavior: "revoke_previous_secrets_immediately" } as never);
    assert.deepEqual(behaviour, { changes: true, replaces: [], deleteBeforeReplace: false });
  });
});

describe("a missing key", () => {
  test("fails with the exact command to fix it, before any request", async () => {
    const saved = { GEMINI_API_KEY: process.env.GEMINI_API_KEY, GOOGLE_API_KEY: process.env.GOOGLE_API_KEY };
    delete process.env.GEMINI_API_KEY;
    delete process.env.GOOGLE_API_KEY;
    const calls = { ...emulator.ctx.metrics.calls };
    try {
      configure({ get: (k) => (k === "gemini:baseUrl" ? emulator.apiUrl : undefined) });
      await assert.rejects(webhook.create({ uri: "https://e.com/k", subscribedEvents: ["batch.failed"] as never[] }), /No Gemini API key is configured\. Set it with `pulumi config set --secret gemini:apiKey <key>`/);
      assert.deepEqual(emulator.ctx.metrics.calls, calls);
    } finally {
      Object.assign(process.env, Object.fromEntries(Object.entries(saved).filter(([, v]) => v !== undefined)));
      configure({ get: (k) => ({ "gemini:apiKey": TEST_API_KEY, "gemini:baseUrl": emulator.apiUrl })[k] });
    }
  });
});

describe("settings", () => {
  test("config before env, env fallbacks, a bad base URL names its source", () => {
    assert.deepEqual(resolveSettings({ get: () => undefined }, { GOOGLE_API_KEY: "g" }), { apiKey: "g", apiKeySource: "GOOGLE_API_KEY", baseUrl: "https://generativelanguage.googleapis.com/v1beta" });
    assert.equal(resolveSettings({ get: (k) => (k === "gemini:apiKey" ? "c" : undefined) }, { GEMINI_API_KEY: "e" }).apiKey, "c");
    assert.throws(() => resolveSettings({ get: (k) => (k === "gemini:baseUrl" ? "ftp://x" : undefined) }, {}), /gemini:baseUrl must be an absolute http\(s\) URL/);
    assert.throws(() => resolveSettings(undefined, { GEMINI_BASE_URL: "nope" }), /GEMINI_BASE_URL must be/);
  });
  test("base URLs in the SDKs' terms: an origin gets the API version; a URL ending in a version is kept; GOOGLE_GEMINI_BASE_URL is read", () => {
    const config = (values: Record<string, string>) => ({ get: (k: string) => values[k] });
    assert.equal(resolveSettings(config({ "gemini:baseUrl": "http://127.0.0.1:8089" }), {}).baseUrl, "http://127.0.0.1:8089/v1beta");
    assert.equal(resolveSettings(config({ "gemini:baseUrl": "http://127.0.0.1:8089/", "gemini:apiVersion": "v1" }), {}).baseUrl, "http://127.0.0.1:8089/v1");
    assert.equal(resolveSettings(config({ "gemini:baseUrl": "http://127.0.0.1:8089/v1beta" }), {}).baseUrl, "http://127.0.0.1:8089/v1beta");
    assert.equal(resolveSettings(config({ "gemini:baseUrl": "http://127.0.0.1:8089/v1", "gemini:apiVersion": "v1beta" }), {}).baseUrl, "http://127.0.0.1:8089/v1");
    assert.equal(resolveSettings(undefined, { GOOGLE_GEMINI_BASE_URL: "https://proxy.example/gemini", GEMINI_BASE_URL: "https://old.example" }).baseUrl, "https://proxy.example/gemini/v1beta");
    assert.throws(() => resolveSettings(config({ "gemini:apiVersion": "V1" }), {}), /gemini:apiVersion must be one of v1beta, v1, got "V1"/);
  });
});

test("rotateAfter: the due time, and the rotation-due window (7 days, or 10 % of a shorter period)", () => {
  assert.equal(durationMs("90d"), 90 * 86_400_000);
  assert.equal(dueAt("2026-01-01T00:00:00.000Z", "12h"), "2026-01-01T12:00:00.000Z");
  assert.equal(dueAt("2026-01-01T00:00:00.000Z", undefined), null);
  const due = Date.parse("2026-04-01T00:00:00.000Z");
  assert.equal(dueSoon(new Date(due).toISOString(), "90d", due - 6 * 86_400_000), true, "6 days before a 90-day rotation");
  assert.equal(dueSoon(new Date(due).toISOString(), "90d", due - 8 * 86_400_000), false, "8 days before");
  assert.equal(dueSoon(new Date(due).toISOString(), "30s", due - 2_000), true, "2 s before a 30-second rotation");
  assert.equal(dueSoon(new Date(due).toISOString(), "30s", due - 10_000), false, "10 s before");
  assert.equal(dueSoon(new Date(due).toISOString(), "30s", due + 1), false, "past due is not 'soon': it rotates");
});
