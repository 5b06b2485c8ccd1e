/** Durability: SIGKILL the emulator while 1,000 deliveries are pending, restart it, lose none. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { closeAllPools, WebhooksClient } from "gemini-webhooks-client";
import { kill, spawnEmulator } from "../support/emulator-process";
import { headerRecord, ReceiverStub, waitFor } from "../support/receiver-stub";
import { admin } from "../support/admin";

afterAll(() => closeAllPools());

test("SIGKILL during 1,000 pending deliveries: after a restart every event is delivered at least once", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "gemini-crash-"));
  const stub = await ReceiverStub.start({ delayMs: 40 });
  const key = "crash-test-key-0000000000";
  let first = await spawnEmulator(["--data-dir", dataDir, "--api-key", key]);
  try {
    const client = new WebhooksClient({ baseUrl: `${first.url}/v1beta`, apiKey: key });
    const hook = await client.create({ uri: stub.url, subscribed_events: ["batch.succeeded"] });
    const eventIds: string[] = [];
    for (let i = 0; i < 1000; i++) {
      const r = await admin(first, "POST", "/events", { type: "batch.succeeded" });
      eventIds.push(((await r.json()) as { event_id: string }).event_id);
    }
    await waitFor("some deliveries before the crash", () => stub.received.length >= 300);
    await kill(first, "SIGKILL");
    const beforeRestart = stub.uniqueIds().size;
    assert.ok(beforeRestart < 1000, `the crash came mid-delivery (${beforeRestart} delivered)`);

    first = await spawnEmulator(["--data-dir", dataDir, "--api-key", key]);
    await waitFor("all 1,000 events delivered", () => stub.uniqueIds().size === 1000, 120_000);
    const wh = new StandardWebhook(hook.new_signing_secret!);
    for (const r of stub.received) wh.verify(r.body, headerRecord(r.headers));
    const duplicates = stub.received.length - stub.uniqueIds().size;
    console.log(`crash test: ${beforeRestart} delivered before SIGKILL, 1000 after restart, ${duplicates} duplicate deliveries (at-least-once)`);
    const stats = (await (await admin(first, "GET", "/stats")).json()) as { deliveries: Record<string, number> };
    await waitFor("the queue to drain", async () => {
      const s = (await (await admin(first, "GET", "/stats")).json()) as { deliveries: Record<string, number> };
      return s.deliveries.succeeded === 1000;
    });
    assert.equal(stats.deliveries.failed ?? 0, 0);
  } finally {
    await kill(first, "SIGTERM");
    await stub.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
