/** The WebhookService client against the real emulator over HTTP: every method, pagination, faults, keys. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { startEmulator } from "gemini-webhooks-emulator";
import { GeminiApiError, WebhooksClient, closeAllPools } from "gemini-webhooks-client";
import { truncatedMatches } from "gemini-webhooks-client";
import { TEST_API_KEY, withEmulator } from "../support/emulator";

afterAll(() => closeAllPools());

const FAST_RETRY = { initialDelayMs: 5, maxDelayMs: 50, maxAttempts: 8 };

describe("client methods against the emulator", () => {
  test("create, get, list, update, ping, rotate, delete", async () => {
    await withEmulator({}, async (emu) => {
      const client = new WebhooksClient({ baseUrl: emu.apiUrl, apiKey: TEST_API_KEY });
      const created = await client.create({ name: "orders", uri: "https://example.com/a", subscribed_events: ["batch.succeeded", "batch.failed"] });
      assert.match(created.new_signing_secret ?? "", /^whsec_[A-Za-z0-9+/]{43}=$/);
      assert.equal(Buffer.from(created.new_signing_secret!.slice(6), "base64").length, 32);
      assert.equal(created.state, "enabled");
      assert.equal(created.signing_secrets?.length, 1);
      assert.ok(truncatedMatches(created.signing_secrets![0].truncated_secret, created.new_signing_secret!));
      assert.ok(created.signing_secrets![0].truncated_secret.length < 16, "truncated secret reveals too much");

      const got = await client.get(created.id);
      assert.equal(got.new_signing_secret, undefined, "the secret is returned only by create");
      assert.deepEqual(got.subscribed_events, ["batch.succeeded", "batch.failed"]);

      const page = await client.list();
      assert.deepEqual(page.webhooks?.map((w) => w.id), [created.id]);
      assert.equal(page.next_page_token, undefined);

      const updated = await client.update(created.id, { uri: "https://example.com/b" });
      assert.equal(updated.uri, "https://example.com/b");
      assert.equal(updated.name, "orders", "fields absent from the PATCH are kept");
      const disabled = await client.update(created.id, { state: "disabled" });
      assert.equal(disabled.state, "disabled");

      await client.ping(created.id);

      const rotated = await client.rotateSigningSecret(created.id);
      assert.notEqual(rotated.secret, created.new_signing_secret);
      const afterRotate = await client.get(created.id);
      assert.equal(afterRotate.signing_secrets?.length, 2);
      const [newest, previous] = afterRotate.signing_secrets!;
      assert.ok(truncatedMatches(newest.truncated_secret, rotated.secret));
      assert.equal(newest.expire_time, undefined);
      const graceMs = Date.parse(previous.expire_time!) - Date.now();
      assert.ok(graceMs > 23.9 * 3600e3 && graceMs <= 24 * 3600e3, `grace ${graceMs}`);

      const immediate = await client.rotateSigningSecret(created.id, "revoke_previous_secrets_immediately");
      const afterImmediate = await client.get(created.id);
      assert.equal(afterImmediate.signing_secrets?.length, 1);
      assert.ok(truncatedMatches(afterImmediate.signing_secrets![0].truncated_secret, immediate.secret));

      await client.delete(created.id);
      await assert.rejects(client.get(created.id), (err: GeminiApiError) => err.status === "NOT_FOUND" && err.httpStatus === 404 && !err.retryable);
      assert.equal(emu.ctx.metrics.calls.get, 4);
    });
  });

  test("update_mask limits a PATCH to the named fields", async () => {
    await withEmulator({}, async (emu) => {
      const client = new WebhooksClient({ baseUrl: emu.apiUrl, apiKey: TEST_API_KEY });
      const created = await client.create({ name: "a", uri: "https://example.com/a", subscribed_events: ["video.generated"] });
      const response = await fetch(`${emu.apiUrl}/webhooks/${created.id}?update_mask=name`, {
        method: "PATCH",
        headers: { "x-goog-api-key": TEST_API_KEY, "content-type": "application/json" },
        body: JSON.stringify({ name: "b", uri: "https://example.com/ignored" }),
      });
      const body = (await response.json()) as { name: string; uri: string };
      assert.equal(body.name, "b");
      assert.equal(body.uri, "https://example.com/a");
    });
  });

  test("pagination across more than 1,000 webhooks, page by page and with the iterator", async () => {
    await withEmulator({}, async (emu) => {
      const client = new WebhooksClient({ baseUrl: emu.apiUrl, apiKey: TEST_API_KEY });
      const total = 1105;
      const ids = new Set<string>();
      for (let i = 0; i < total; i += 50) {
        const batch = await Promise.all(
          Array.from({ length: Math.min(50, total - i) }, (_, j) =>
            client.create({ name: `w${i + j}`, uri: `https://example.com/${i + j}`, subscribed_events: ["batch.succeeded"] }),
          ),
        );
        batch.forEach((w) => ids.add(w.id));
      }
      const first = await client.list();
      assert.equal(first.webhooks?.length, 50, "default page size is 50");
      assert.ok(first.next_page_token);
      const capped = await client.list({ pageSize: 5000 });
      assert.equal(capped.webhooks?.length, 1000, "page_size is capped at 1000");
      const last = await client.list({ pageSize: 1000, pageToken: capped.next_page_token });
      assert.equal(last.webhooks?.length, total - 1000);
      assert.equal(last.next_page_token, undefined, "no token on the last page");

      const seen: string[] = [];
      for await (const w of client.listAll({ pageSize: 300 })) seen.push(w.id);
      assert.equal(seen.length, total);
      assert.deepEqual(new Set(seen), ids);
    });
  });
});

describe("persistence", () => {
  test("webhooks and secrets survive a restart on the same data directory", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "gemini-emu-"));
    try {
      const first = await startEmulator({ dataDir, apiKey: TEST_API_KEY });
      const client1 = new WebhooksClient({ baseUrl: first.apiUrl, apiKey: TEST_API_KEY });
      const created = await client1.create({ uri: "https://example.com/p", subscribed_events: ["interaction.completed"] });
      const rotated = await client1.rotateSigningSecret(created.id);
      await first.close();

      const second = await startEmulator({ dataDir, apiKey: TEST_API_KEY });
      try {
        const client2 = new WebhooksClient({ baseUrl: second.apiUrl, apiKey: TEST_API_KEY });
        const got = await client2.get(created.id);
        assert.equal(got.uri, "https://example.com/p");
        assert.equal(got.signing_secrets?.length, 2);
        assert.ok(truncatedMatches(got.signing_secrets![0].truncated_secret, rotated.secret));
        assert.ok(truncatedMatches(got.signing_secrets![1].truncated_secret, created.new_signing_secret!));
        const secrets = second.ctx.store.validSecrets(created.id, Date.now()).map((s) => s.secret);
        assert.deepEqual(secrets, [rotated.secret, created.new_signing_secret]);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("retries and faults", () => {
  test("429 and 503 are retried, honouring Retry-After", async () => {
    await withEmulator({ faults: { get: { rate429: 1, retryAfterSeconds: 1 } } }, async (emu) => {
      const times: number[] = [];
      const client = new WebhooksClient({
        baseUrl: emu.apiUrl,
        apiKey: TEST_API_KEY,
        retry: { ...FAST_RETRY, maxAttempts: 2 },
        onAttempt: () => times.push(Date.now()),
      });
      const created = await client.create({ uri: "https://example.com/r", subscribed_events: ["batch.failed"] });
      await assert.rejects(client.get(created.id), (err: GeminiApiError) => err.httpStatus === 429 && err.retryable);
      assert.equal(times.length - 1, 2, "two attempts at the get");
      assert.ok(times[2] - times[1] >= 1000, "the retry waited for Retry-After");

      emu.ctx.faults.configure({ "*": { rate503: 0.5, rate429: 0.2, retryAfterSeconds: 0 } });
      // 70 % of attempts fail: a get gives up after 60 failures in a row with odds 0.7^60 ≈ 5e-10 (with 20
      // attempts, 0.7^20 ≈ 8e-4 per get: this test failed about once in 60 runs by chance alone).
      const flaky = new WebhooksClient({ baseUrl: emu.apiUrl, apiKey: TEST_API_KEY, retry: { ...FAST_RETRY, maxAttempts: 60 } });
      for (let i = 0; i < 20; i++) assert.equal((await flaky.get(created.id)).id, created.id);
      assert.ok(emu.ctx.faults.injected.status503 > 0 && emu.ctx.faults.injected.status429 > 0);
    });
  });

  test("a create whose answer is lost is found, not duplicated, and its secret is usable", async () => {
    await withEmulator({ faults: { create: { rateDropAfter: 1 } } }, async (emu) => {
      const client = new WebhooksClient({ baseUrl: emu.apiUrl, apiKey: TEST_API_KEY, retry: FAST_RETRY });
      const webhook = await client.create({ name: "lost", uri: "https://example.com/lost", subscribed_events: ["batch.succeeded"] });
      assert.equal(emu.ctx.metrics.calls.create, 1, "the create was sent once");
      assert.equal(emu.ctx.store.countWebhooks(), 1);
      const valid = emu.ctx.store.validSecrets(webhook.id, Date.now()).map((s) => s.secret);
      assert.deepEqual(valid, [webhook.new_signing_secret], "the recovered secret is the only valid one");
    });
  });

  test("50 creates under 20% 429/503 and 30% lost answers leave exactly 50 webhooks", async () => {
    await withEmulator(
      { faults: { "*": { rate429: 0.1, rate503: 0.1, retryAfterSeconds: 0 }, create: { rate429: 0.1, rate503: 0.1, rateDropAfter: 0.3, retryAfterSeconds: 0 } } },
      async (emu) => {
        const client = new WebhooksClient({ baseUrl: emu.apiUrl, apiKey: TEST_API_KEY, retry: { ...FAST_RETRY, maxAttempts: 30 } });
        const made = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            client.create({ name: `n${i}`, uri: `https://example.com/f${i}`, subscribed_events: ["batch.succeeded"] }),
          ),
        );
        assert.ok(emu.ctx.faults.injected.dropped > 0, "some answers were lost");
        assert.equal(emu.ctx.store.countWebhooks(), 50);
        assert.equal(new Set(made.map((w) => w.id)).size, 50);
        for (const w of made) {
          assert.deepEqual(emu.ctx.store.validSecrets(w.id, Date.now()).map((s) => s.secret), [w.new_signing_secret]);
        }
      },
    );
  });

  test("connection refused is a retryable network error with no outcome doubt", async () => {
    const client = new WebhooksClient({ baseUrl: "http://127.0.0.1:1/v1beta", apiKey: TEST_API_KEY, retry: { ...FAST_RETRY, maxAttempts: 2 } });
    await assert.rejects(client.get("abc"), (err: GeminiApiError) => err.code === "ERR_GEMINI_NETWORK" && err.retryable && !err.outcomeUnknown);
  });
});

describe("API keys", () => {
  test("a missing key becomes an error telling how to set gemini:apiKey", async () => {
    await withEmulator({}, async (emu) => {
      const client = new WebhooksClient({ baseUrl: emu.apiUrl });
      await assert.rejects(client.list(), (err: GeminiApiError) => {
        assert.equal(err.code, "ERR_GEMINI_AUTH");
        assert.equal(err.httpStatus, 403);
        assert.match(err.message, /pulumi config set --secret gemini:apiKey/);
        return true;
      });
    });
  });

  test("a wrong key is reported without ever showing the key", async () => {
    await withEmulator({}, async (emu) => {
      const wrongKey = "AIzaSy-this-is-a-secret-key-0000";
      const client = new WebhooksClient({ baseUrl: emu.apiUrl, apiKey: wrongKey, retry: FAST_RETRY });
      const err = await client.list().catch((e: unknown) => e as GeminiApiError);
      assert.ok(err instanceof GeminiApiError);
      assert.equal(err.reason, "API_KEY_INVALID");
      assert.match(err.message, /gemini:apiKey/);
      const everything = [err.message, err.stack, inspect(err, { depth: 10, showHidden: true }), JSON.stringify(err), inspect(client, { showHidden: true })].join("\n");
      assert.ok(!everything.includes(wrongKey), "the key leaked into the error or the client");
    });
  });

  test("network errors do not carry the key either", async () => {
    const key = "AIzaSy-network-secret-1111";
    const client = new WebhooksClient({ baseUrl: "http://127.0.0.1:1/v1beta", apiKey: key, retry: { ...FAST_RETRY, maxAttempts: 1 } });
    const err = await client.get("x").catch((e: unknown) => e as Error);
    assert.ok(!inspect(err, { depth: 10, showHidden: true }).includes(key));
  });
});
