/**
 * The emulator's deliveries, judged by what a receiver gets: Standard Webhooks signatures checked
 * with the reference `standardwebhooks` library, dynamic JWTs checked with jose against the JWKS,
 * the retry schedule, disabling, rotation overlap and fairness.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { startEmulator, EmulatorOptions, RunningEmulator } from "gemini-webhooks-emulator";
import { baseRetryDelayMs, JITTER } from "../../emulator/src/delivery/retry-schedule";
import { closeAllPools, WebhooksClient } from "gemini-webhooks-client";
import { TEST_API_KEY } from "../support/emulator";
import { headerRecord, ReceiverStub, waitFor } from "../support/receiver-stub";
import { admin } from "../support/admin";

afterAll(() => closeAllPools());

interface Harness {
  emu: RunningEmulator;
  client: WebhooksClient;
  emit: (type: string, extra?: Record<string, unknown>) => Promise<{ event_id: string; deliveries: number }>;
  deliveries: (query?: string) => Promise<DeliveryView[]>;
}

interface DeliveryView {
  webhook_id_header: string;
  status: string;
  attempts: { attempt: number; scheduled_time: string; time: string; http_status: number | null; error: string | null }[];
  next_attempt_time: string | null;
}

async function withHarness(options: EmulatorOptions, body: (h: Harness) => Promise<void>): Promise<void> {
  const emu = await startEmulator({ inMemory: true, apiKey: TEST_API_KEY, jobCompletionDelayMs: 0, ...options });
  const client = new WebhooksClient({ baseUrl: emu.apiUrl, apiKey: TEST_API_KEY });
  const post = async (path: string, payload: unknown) => {
    const r = await admin(emu, "POST", path, payload);
    const json = (await r.json()) as Record<string, unknown>;
    assert.equal(r.status, 200, JSON.stringify(json));
    return json;
  };
  try {
    await body({
      emu,
      client,
      emit: (type, extra = {}) => post("/events", { type, ...extra }) as Promise<{ event_id: string; deliveries: number }>,
      deliveries: async (query = "") =>
        ((await (await admin(emu, "GET", `/deliveries${query}`)).json()) as { deliveries: DeliveryView[] }).deliveries,
    });
  } finally {
    await emu.close();
  }
}

describe("static deliveries", () => {
  test("each subscribed, enabled webhook gets the event, signed as Standard Webhooks and verified by the reference library", async () => {
    const a = await ReceiverStub.start();
    const b = await ReceiverStub.start();
    const c = await ReceiverStub.start();
    try {
      await withHarness({}, async ({ client, emit }) => {
        const wa = await client.create({ uri: a.url, subscribed_events: ["batch.succeeded"] });
        const wb = await client.create({ uri: b.url, subscribed_events: ["batch.succeeded", "batch.failed"] });
        const wc = await client.create({ uri: c.url, subscribed_events: ["batch.failed"] });
        await client.update(wb.id, { state: "disabled" });
        const { deliveries } = await emit("batch.succeeded", { data: { id: "batches/42" } });
        assert.equal(deliveries, 1, "only the enabled subscriber");
        await waitFor("delivery to a", () => a.received.length === 1);
        const [got] = a.received;
        assert.equal(got.headers["content-type"], "application/json");
        assert.match(String(got.headers["webhook-id"]), /^msg_/);
        assert.ok(Math.abs(Number(got.headers["webhook-timestamp"]) - Date.now() / 1000) < 60);
        assert.equal(String(got.headers["webhook-signature"]).split(" ").length, 1);
        const event = new StandardWebhook(wa.new_signing_secret!).verify(got.body, headerRecord(got.headers)) as Record<string, unknown>;
        assert.equal(event.type, "batch.succeeded");
        assert.equal(event.version, "v1");
        assert.match(String(event.timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assert.deepEqual(Object.keys(event.data as object).sort(), ["id", "output_file_uri"]);
        assert.equal((event.data as { id: string }).id, "batches/42");
        assert.throws(() => new StandardWebhook(wc.new_signing_secret!).verify(got.body, headerRecord(got.headers)), "another webhook's secret must not verify");
        assert.equal(b.received.length + c.received.length, 0);
      });
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  test("every catalog type is delivered with its documented data fields", async () => {
    const stub = await ReceiverStub.start();
    try {
      await withHarness({}, async ({ client, emit }) => {
        const events = ["batch.succeeded", "batch.expired", "batch.failed", "interaction.requires_action", "interaction.completed", "interaction.failed", "video.generated"] as const;
        const hook = await client.create({ uri: stub.url, subscribed_events: [...events] });
        for (const type of events) await emit(type);
        await waitFor("7 deliveries", () => stub.received.length === 7);
        const wh = new StandardWebhook(hook.new_signing_secret!);
        const fields = Object.fromEntries(
          stub.received.map((r) => {
            const e = wh.verify(r.body, headerRecord(r.headers)) as { type: string; data: object };
            return [e.type, Object.keys(e.data).sort()];
          }),
        );
        assert.deepEqual(fields["batch.failed"], ["error_code", "error_message", "id"]);
        assert.deepEqual(fields["video.generated"], ["file_name", "id", "output_file_uri"]);
        assert.deepEqual(fields["interaction.requires_action"], ["id"]);
      });
    } finally {
      await stub.close();
    }
  });

  test("ping sends one signed webhook.ping delivery to that webhook", async () => {
    const stub = await ReceiverStub.start();
    try {
      await withHarness({}, async ({ client }) => {
        const hook = await client.create({ uri: stub.url, subscribed_events: ["batch.failed"] });
        await client.ping(hook.id);
        await waitFor("ping", () => stub.received.length === 1);
        const event = new StandardWebhook(hook.new_signing_secret!).verify(stub.received[0].body, headerRecord(stub.received[0].headers)) as { type: string; data: { webhook_id: string } };
        assert.equal(event.type, "webhook.ping");
        assert.equal(event.data.webhook_id, hook.id);
      });
    } finally {
      await stub.close();
    }
  });

  test("rotation overlap: both secrets sign during the grace, the old one is gone after the (scaled) 24 h", async () => {
    const stub = await ReceiverStub.start();
    try {
      // 24 h pass in 2 s.
      await withHarness({ timeScale: 43_200 }, async ({ client, emit }) => {
        const hook = await client.create({ uri: stub.url, subscribed_events: ["video.generated"] });
        const { secret } = await client.rotateSigningSecret(hook.id);
        await emit("video.generated");
        await waitFor("delivery during grace", () => stub.received.length === 1);
        const during = stub.received[0];
        assert.equal(String(during.headers["webhook-signature"]).split(" ").length, 2);
        new StandardWebhook(secret).verify(during.body, headerRecord(during.headers));
        new StandardWebhook(hook.new_signing_secret!).verify(during.body, headerRecord(during.headers));

        await waitFor("the grace to end", async () => (await client.get(hook.id)).signing_secrets?.length === 1);
        await emit("video.generated");
        await waitFor("delivery after grace", () => stub.received.length === 2);
        const afterGrace = stub.received[1];
        assert.equal(String(afterGrace.headers["webhook-signature"]).split(" ").length, 1);
        new StandardWebhook(secret).verify(afterGrace.body, headerRecord(afterGrace.headers));
        assert.throws(() => new StandardWebhook(hook.new_signing_secret!).verify(afterGrace.body, headerRecord(afterGrace.headers)));
      });
    } finally {
      await stub.close();
    }
  });

  test("immediate revocation drops the old signature at once", async () => {
    const stub = await ReceiverStub.start();
    try {
      await withHarness({}, async ({ client, emit }) => {
        const hook = await client.create({ uri: stub.url, subscribed_events: ["batch.expired"] });
        const { secret } = await client.rotateSigningSecret(hook.id, "revoke_previous_secrets_immediately");
        await emit("batch.expired");
        await waitFor("delivery", () => stub.received.length === 1);
        const got = stub.received[0];
        assert.equal(String(got.headers["webhook-signature"]).split(" ").length, 1);
        new StandardWebhook(secret).verify(got.body, headerRecord(got.headers));
        assert.throws(() => new StandardWebhook(hook.new_signing_secret!).verify(got.body, headerRecord(got.headers)));
      });
    } finally {
      await stub.close();
    }
  });
});

describe("retries", () => {
  test("a receiver failing 4 times gets retries on the documented schedule, same webhook-id, fresh timestamps", async () => {
    const stub = await ReceiverStub.start({ status: (n) => [500, 503, 404, 302][n] ?? 200 });
    try {
      // 1 s emulated = 1 ms real: the first delays are 5 s, 15 s, 45 s, 135 s.
      await withHarness({ timeScale: 1000 }, async ({ client, emit, deliveries }) => {
        const hook = await client.create({ uri: stub.url, subscribed_events: ["batch.succeeded"] });
        const { event_id } = await emit("batch.succeeded");
        await waitFor("success on the 5th attempt", () => stub.received.length === 5);
        await waitFor("the success to be recorded", async () => (await deliveries(`?event_id=${event_id}`))[0].status === "succeeded");
        const [delivery] = await deliveries(`?event_id=${event_id}&webhook_id=${hook.id}`);
        assert.deepEqual(delivery.attempts.map((a) => a.http_status), [500, 503, 404, 302, 200]);
        assert.equal(stub.uniqueIds().size, 1, "webhook-id is stable across retries");
        const times = delivery.attempts.map((a) => Date.parse(a.time));
        for (let n = 1; n < times.length; n++) {
          const gap = times[n] - times[n - 1];
          const base = baseRetryDelayMs(n);
          assert.ok(gap >= base * (1 - JITTER) - 1, `retry ${n} came early: ${gap} ms < ${base * (1 - JITTER)}`);
        }
        for (const a of delivery.attempts) assert.ok(Date.parse(a.time) >= Date.parse(a.scheduled_time), `attempt ${a.attempt} ran before it was due`);
        for (const r of stub.received) new StandardWebhook(hook.new_signing_secret!).verify(r.body, headerRecord(r.headers));
      });
    } finally {
      await stub.close();
    }
  });

  test("Retry-After on 503 moves the next attempt at least that far", async () => {
    const stub = await ReceiverStub.start({ status: () => 503, headers: () => ({ "retry-after": "3600" }) });
    try {
      await withHarness({}, async ({ client, emit, deliveries }) => {
        await client.create({ uri: stub.url, subscribed_events: ["batch.succeeded"] });
        const { event_id } = await emit("batch.succeeded");
        await waitFor("the first attempt to be recorded", async () => (await deliveries(`?event_id=${event_id}`))[0].attempts.length === 1);
        const [d] = await deliveries(`?event_id=${event_id}`);
        const wait = Date.parse(d.next_attempt_time!) - Date.parse(d.attempts[0].time);
        assert.ok(wait >= 3600_000, `next attempt after ${wait} ms`);
      });
    } finally {
      await stub.close();
    }
  });

  test("410 Gone disables the webhook and stops retrying", async () => {
    const stub = await ReceiverStub.start({ status: () => 410 });
    try {
      await withHarness({}, async ({ client, emit, deliveries }) => {
        const hook = await client.create({ uri: stub.url, subscribed_events: ["batch.succeeded"] });
        const { event_id } = await emit("batch.succeeded");
        await waitFor("the delivery to fail", async () => (await deliveries(`?event_id=${event_id}`))[0].status === "failed");
        assert.equal((await client.get(hook.id)).state, "disabled");
        assert.equal(stub.received.length, 1);
      });
    } finally {
      await stub.close();
    }
  });

  test("failing for the whole 24 h window disables the webhook; PATCH state enabled re-enables and delivers", async () => {
    const stub = await ReceiverStub.start({ status: () => 500 });
    try {
      // 24 h pass in about 1 s.
      await withHarness({ timeScale: 86_400 }, async ({ client, emit, deliveries }) => {
        const hook = await client.create({ uri: stub.url, subscribed_events: ["interaction.failed"] });
        const { event_id } = await emit("interaction.failed");
        await waitFor("the webhook to be disabled", async () => (await client.get(hook.id)).state === "disabled_due_to_failed_deliveries");
        const [failed] = await deliveries(`?event_id=${event_id}`);
        assert.equal(failed.status, "failed");
        const span = Date.parse(failed.attempts.at(-1)!.time) - Date.parse(failed.attempts[0].time);
        assert.ok(span <= 24 * 3600e3 && span > 16 * 3600e3, `attempts spanned ${span / 3600e3} h`);
        assert.ok(failed.attempts.length >= 10 && failed.attempts.length <= 14, `${failed.attempts.length} attempts`);

        // While disabled, new events wait; enabling delivers them.
        const second = await emit("interaction.failed");
        assert.equal(second.deliveries, 0, "a disabled webhook is not a subscriber");
        stub.setBehaviour({ status: () => 200 });
        await client.update(hook.id, { state: "enabled" });
        const third = await emit("interaction.failed");
        await waitFor("delivery after re-enabling", async () => (await deliveries(`?event_id=${third.event_id}`))[0].status === "succeeded");
      });
    } finally {
      await stub.close();
    }
  });

  test("a hanging endpoint does not delay deliveries to a healthy one", async () => {
    const dead = await ReceiverStub.start({ hang: true });
    const healthy = await ReceiverStub.start();
    try {
      await withHarness({ deliveryTimeoutMs: 5_000, perEndpointConcurrency: 4 }, async ({ client, emit, deliveries }) => {
        const deadHook = await client.create({ uri: dead.url, subscribed_events: ["batch.failed"] });
        await client.create({ uri: healthy.url, subscribed_events: ["batch.failed"] });
        for (let i = 0; i < 40; i++) await emit("batch.failed");
        await waitFor("40 healthy deliveries", () => healthy.received.length === 40);
        const deadAttempts = (await deliveries(`?webhook_id=${deadHook.id}`)).flatMap((d) => d.attempts);
        assert.equal(deadAttempts.length, 0, "the healthy endpoint was served before any hanging attempt even timed out");
        assert.ok(dead.received.length <= 4, `at most 4 concurrent requests held by the dead endpoint, saw ${dead.received.length}`);
      });
    } finally {
      await Promise.all([dead.close(), healthy.close()]);
    }
  });

  test("a target outside loopback is never contacted", async () => {
    await withHarness({}, async ({ client, emit, deliveries }) => {
      await client.create({ uri: "https://example.com/hook", subscribed_events: ["batch.failed"] });
      const { event_id } = await emit("batch.failed");
      await waitFor("the refusal", async () => (await deliveries(`?event_id=${event_id}`))[0].status === "failed");
      const [d] = await deliveries(`?event_id=${event_id}`);
      assert.match(d.attempts[0].error ?? "", /target not allowed/);
    });
  });
});

describe("dynamic webhooks", () => {
  test("a batch's webhook_config routes its event to the job's URIs with a JWT that verifies against the JWKS, across a key rotation", async () => {
    const dynamicStub = await ReceiverStub.start({}, "/dynamic");
    const staticStub = await ReceiverStub.start();
    try {
      await withHarness({}, async ({ emu, client }) => {
        await client.create({ uri: staticStub.url, subscribed_events: ["batch.succeeded"] });
        // No cooldown: this test fetches again right after a rotation (receivers refetch on an unknown kid after theirs).
        const jwks = createRemoteJWKSet(new URL(`${emu.url}/.well-known/jwks.json`), { cooldownDuration: 0 });
        const createBatch = async () => {
          const r = await fetch(`${emu.apiUrl}/models/gemini-3-flash-preview:batchGenerateContent`, {
            method: "POST",
            headers: { "x-goog-api-key": TEST_API_KEY, "content-type": "application/json" },
            body: JSON.stringify({ batch: { displayName: "nightly", webhookConfig: { uris: [dynamicStub.url], userMetadata: { job_group: "nightly-eval" } } } }),
          });
          assert.equal(r.status, 200);
          return ((await r.json()) as { name: string }).name;
        };
        const complete = async (name: string) => {
          const r = await admin(emu, "POST", "/jobs:complete", { name, outcome: "succeeded" });
          assert.equal(r.status, 200, await r.text());
        };
        const verify = async (n: number) => {
          const got = dynamicStub.received[n];
          const token = String(got.headers["webhook-signature"]);
          const { payload, protectedHeader } = await jwtVerify(token, jwks, { algorithms: ["RS256"], issuer: emu.url, audience: dynamicStub.url, requiredClaims: ["exp", "iat"] });
          assert.equal(payload.exp! - payload.iat!, 300);
          assert.equal(payload.webhook_id, got.headers["webhook-id"]);
          assert.equal(payload.body_sha256, createHash("sha256").update(got.body).digest("base64url"));
          assert.ok(got.headers["webhook-timestamp"]);
          return { body: JSON.parse(got.body.toString()) as { type: string; user_metadata: unknown; data: { id: string } }, kid: protectedHeader.kid, token };
        };

        const name = await createBatch();
        await complete(name);
        await waitFor("dynamic delivery", () => dynamicStub.received.length === 1);
        const first = await verify(0);
        assert.equal(first.body.type, "batch.succeeded");
        assert.equal(first.body.data.id, name);
        assert.deepEqual(first.body.user_metadata, { job_group: "nightly-eval" });
        assert.equal(staticStub.received.length, 0, "dynamic events go instead of, not besides, static webhooks");

        const rotated = await admin(emu, "POST", "/jwks:rotate");
        const { kid } = (await rotated.json()) as { kid: string };
        assert.notEqual(kid, first.kid);
        const published = (await (await fetch(`${emu.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
        assert.deepEqual(published.keys.map((k) => k.kid).sort(), [kid, first.kid].sort(), "the old key stays published");

        await complete(await createBatch());
        await waitFor("second dynamic delivery", () => dynamicStub.received.length === 2);
        const second = await verify(1);
        assert.equal(decodeProtectedHeader(second.token).kid, kid);
        // A token from before the rotation still verifies (fresh JWKS instance: no cache).
        await jwtVerify(first.token, createRemoteJWKSet(new URL(`${emu.url}/.well-known/jwks.json`)), { audience: dynamicStub.url, issuer: emu.url });
      });
    } finally {
      await Promise.all([dynamicStub.close(), staticStub.close()]);
    }
  });

  test("an admin call picks a job's outcome: batch.cancelled reaches the job's URI; a finished job cannot finish again", async () => {
    const stub = await ReceiverStub.start({}, "/cancelled");
    try {
      await withHarness({}, async ({ emu }) => {
        const created = await fetch(`${emu.apiUrl}/models/m:batchGenerateContent`, {
          method: "POST",
          headers: { "x-goog-api-key": TEST_API_KEY, "content-type": "application/json" },
          body: JSON.stringify({ batch: { webhook_config: { uris: [stub.url], user_metadata: { k: 1 } } } }),
        });
        const { name } = (await created.json()) as { name: string };
        const complete = (outcome: string) =>
          admin(emu, "POST", "/jobs:complete", { name, outcome });
        const wrong = await complete("requires_action");
        assert.equal(wrong.status, 400, "requires_action is an interaction outcome, not a batch one");
        assert.equal((await complete("cancelled")).status, 200);
        await waitFor("the cancelled event", () => stub.received.length === 1);
        const event = JSON.parse(stub.received[0].body.toString()) as { type: string; data: { id: string }; user_metadata: unknown };
        assert.deepEqual([event.type, event.data.id, event.user_metadata], ["batch.cancelled", name, { k: 1 }]);
        const again = await complete("succeeded");
        assert.equal(again.status, 400);
        assert.match(((await again.json()) as { error: { message: string } }).error.message, /already finished/);
        const batch = (await (await fetch(`${emu.apiUrl}/${name}`, { headers: { "x-goog-api-key": TEST_API_KEY } })).json()) as { metadata: { state: string } };
        assert.equal(batch.metadata.state, "BATCH_STATE_CANCELLED");
      });
    } finally {
      await stub.close();
    }
  });

  test("an interaction with webhook_config requires background: true", async () => {
    await withHarness({}, async ({ emu }) => {
      const r = await fetch(`${emu.apiUrl}/interactions`, {
        method: "POST",
        headers: { "x-goog-api-key": TEST_API_KEY, "content-type": "application/json" },
        body: JSON.stringify({ model: "gemini-3-flash-preview", input: "hi", webhook_config: { uris: ["http://127.0.0.1:1/x"] } }),
      });
      assert.equal(r.status, 400);
      assert.match(((await r.json()) as { error: { message: string } }).error.message, /'background'/);
    });
  });
});
