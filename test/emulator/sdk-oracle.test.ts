/**
 * Google's own JavaScript SDK (`@google/genai`) against the emulator, at the SDK's defaults: only an
 * API key and the emulator's origin as `httpOptions.baseUrl` (so the SDK calls `/v1/...`, as it
 * does against Google). The deliveries it causes are verified with the reference `standardwebhooks`
 * library (static) and jose against the emulator's JWKS (dynamic).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import type * as Genai from "@google/genai" with { "resolution-mode": "import" };
import { createRemoteJWKSet, jwtVerify } from "jose";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { startEmulator, RunningEmulator } from "gemini-webhooks-emulator";
import { admin } from "../support/admin";
import { ReceiverStub, waitFor } from "../support/receiver-stub";

// The SDK publishes its types for ESM only; its CommonJS build is what Jest loads.
const { GoogleGenAI } = require("@google/genai") as typeof Genai;
type GoogleGenAI = Genai.GoogleGenAI;

const KEY = "sdk-oracle-key-0123456789";
let emulator: RunningEmulator;
let ai: GoogleGenAI;
let stub: ReceiverStub;
const seen: string[] = [];

beforeAll(async () => {
  emulator = await startEmulator({ inMemory: true, apiKey: KEY, jobCompletionDelayMs: 0 });
  emulator.app.server.on("request", (req) => seen.push(`${req.method} ${req.url}`));
  ai = new GoogleGenAI({ apiKey: KEY, httpOptions: { baseUrl: emulator.url } });
  stub = await ReceiverStub.start();
});

afterAll(async () => {
  await stub?.close();
  await emulator?.close();
});

function headerOf(d: { headers: Record<string, string | string[] | undefined> }, name: string): string {
  return String(d.headers[name]);
}

test("at its defaults the SDK calls /v1, and every webhooks method works: create, get, list, update, ping, rotate, delete", async () => {
  const created = await ai.webhooks.create({ name: "sdk", uri: stub.url, subscribed_events: ["batch.succeeded", "video.generated"] });
  assert.ok(created.id);
  assert.match(created.new_signing_secret ?? "", /^whsec_/);
  assert.equal(created.state, "enabled");
  assert.deepEqual(created.subscribed_events, ["batch.succeeded", "video.generated"]);
  assert.ok(seen.includes("POST /v1/webhooks"), `the SDK called ${seen.join(", ")}`);

  const got = await ai.webhooks.get(created.id!);
  assert.equal(got.uri, stub.url);
  assert.equal(got.new_signing_secret, undefined, "the secret is returned once, on create");

  const updated = await ai.webhooks.update(created.id!, { name: "sdk-renamed", subscribed_events: ["batch.failed"] });
  assert.equal(updated.name, "sdk-renamed");
  assert.deepEqual(updated.subscribed_events, ["batch.failed"]);
  const disabled = await ai.webhooks.update(created.id!, { state: "disabled" });
  assert.equal(disabled.state, "disabled");
  await ai.webhooks.update(created.id!, { state: "enabled" });

  // A ping is a signed delivery that the reference library verifies with the creation secret.
  await ai.webhooks.ping(created.id!);
  await waitFor("the ping delivery", () => stub.received.length === 1);
  const ping = stub.received[0];
  const verified = new StandardWebhook(created.new_signing_secret!).verify(ping.body.toString(), {
    "webhook-id": headerOf(ping, "webhook-id"),
    "webhook-timestamp": headerOf(ping, "webhook-timestamp"),
    "webhook-signature": headerOf(ping, "webhook-signature"),
  }) as { type: string; data: { webhook_id: string } };
  assert.equal(verified.type, "webhook.ping");
  assert.equal(verified.data.webhook_id, created.id);

  await ai.webhooks.delete(created.id!);
  await assert.rejects(ai.webhooks.get(created.id!), (e: Error & { status?: number }) => e.constructor.name === "NotFoundError" && e.status === 404);
});

test("rotation in both modes: with the 24 h grace both secrets sign; immediately, only the new one", async () => {
  const hook = await ai.webhooks.create({ uri: stub.url, subscribed_events: ["batch.succeeded"] });
  const first = hook.new_signing_secret!;
  const graced = await ai.webhooks.rotateSigningSecret(hook.id!, { revocation_behavior: "revoke_previous_secrets_after_h24" });
  assert.match(graced.secret ?? "", /^whsec_/);
  const listed = await ai.webhooks.get(hook.id!);
  assert.equal(listed.signing_secrets?.length, 2);
  assert.ok(listed.signing_secrets?.some((s) => s.expire_time), "the old secret has an expire_time");

  const verifyWith = async (secrets: string[], refused: string[]) => {
    const before = stub.received.length;
    await ai.webhooks.ping(hook.id!);
    await waitFor("a ping", () => stub.received.length === before + 1);
    const d = stub.received[before];
    const headers = { "webhook-id": headerOf(d, "webhook-id"), "webhook-timestamp": headerOf(d, "webhook-timestamp"), "webhook-signature": headerOf(d, "webhook-signature") };
    for (const s of secrets) assert.ok(new StandardWebhook(s).verify(d.body.toString(), headers), "a valid secret verifies");
    for (const s of refused) assert.throws(() => new StandardWebhook(s).verify(d.body.toString(), headers), "a revoked secret must not verify");
  };
  await verifyWith([graced.secret!, first], []);
  const immediate = await ai.webhooks.rotateSigningSecret(hook.id!, { revocation_behavior: "revoke_previous_secrets_immediately" });
  assert.equal((await ai.webhooks.get(hook.id!)).signing_secrets?.length, 1);
  await verifyWith([immediate.secret!], [graced.secret!, first]);
  await ai.webhooks.delete(hook.id!);
});

test("list pages with page_size and next_page_token; an empty list is an empty response", async () => {
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) ids.push((await ai.webhooks.create({ name: `page-${i}`, uri: stub.url, subscribed_events: ["batch.failed"] })).id!);
  const collected: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await ai.webhooks.list({ page_size: 3, ...(token ? { page_token: token } : {}) });
    collected.push(...(page.webhooks ?? []).map((w) => w.id!));
    token = page.next_page_token;
    pages++;
  } while (token);
  assert.equal(pages, 3);
  assert.deepEqual(collected, ids);
  for (const id of ids) await ai.webhooks.delete(id);
  const empty = await ai.webhooks.list();
  assert.deepEqual(empty.webhooks ?? [], []);
});

test("errors arrive as the SDK's typed errors: NotFoundError, BadRequestError naming the field", async () => {
  await assert.rejects(ai.webhooks.get("nope"), (e: Error & { status?: number }) => e.constructor.name === "NotFoundError" && e.status === 404);
  await assert.rejects(ai.webhooks.create({ uri: "ftp://example.com/x", subscribed_events: ["batch.succeeded"] }), (e: Error & { status?: number }) => {
    assert.equal(e.constructor.name, "BadRequestError");
    assert.equal(e.status, 400);
    assert.match(e.message, /uri/);
    return true;
  });
  await assert.rejects(ai.webhooks.create({ uri: stub.url, subscribed_events: ["batch.cancelled"] }), (e: Error & { status?: number }) => e.status === 400 && /subscribed_events/.test(e.message));
  const wrongKey = new GoogleGenAI({ apiKey: "not-the-key", httpOptions: { baseUrl: emulator.url } });
  await assert.rejects(wrongKey.webhooks.list(), (e: Error & { status?: number }) => e.status === 400 && /API key not valid/.test(e.message));
});

test("batches.create with webhookConfig and interactions.create with webhook_config deliver to their URIs with JWTs that jose verifies against the JWKS", async () => {
  const dynamic = await ReceiverStub.start();
  try {
    const batch = await ai.batches.create({
      model: "gemini-3-flash-preview",
      src: "files/uploaded_file_id",
      config: { webhookConfig: { uris: [dynamic.url], userMetadata: { job_group: "nightly-eval" } } },
    });
    assert.match(batch.name ?? "", /^batches\//);
    const interaction = await ai.interactions.create({ model: "gemini-3-flash-preview", input: "hello", background: true, webhook_config: { uris: [dynamic.url] } });
    assert.ok(interaction.id);
    assert.ok(seen.some((r) => r.startsWith("POST /v1/models/gemini-3-flash-preview:batchGenerateContent")), "the SDK's batch call");
    assert.ok(seen.some((r) => r.startsWith("POST /v1/interactions")), "the SDK's interaction call");

    for (const [name, outcome] of [[batch.name!, "succeeded"], [`interactions/${interaction.id}`, "succeeded"]]) {
      assert.equal((await admin(emulator, "POST", "/jobs:complete", { name, outcome })).status, 200);
    }
    await waitFor("two dynamic deliveries", () => dynamic.received.length === 2);
    const jwks = createRemoteJWKSet(new URL(`${emulator.url}/.well-known/jwks.json`));
    const types = [];
    for (const d of dynamic.received) {
      const { payload } = await jwtVerify(headerOf(d, "webhook-signature"), jwks, { issuer: emulator.url, audience: dynamic.url, algorithms: ["RS256"] });
      assert.equal(payload.body_sha256, createHash("sha256").update(d.body).digest("base64url"));
      assert.equal(payload.webhook_id, headerOf(d, "webhook-id"));
      const envelope = JSON.parse(d.body.toString()) as { type: string; user_metadata?: Record<string, unknown>; data: { id: string } };
      types.push(envelope.type);
      if (envelope.type === "batch.succeeded") {
        assert.equal(envelope.data.id, batch.name);
        assert.deepEqual(envelope.user_metadata, { job_group: "nightly-eval" });
      }
    }
    assert.deepEqual(types.sort(), ["batch.succeeded", "interaction.completed"]);
  } finally {
    await dynamic.close();
  }
});
