/**
 * Adversarial: SIGKILL the emulator while it delivers 1,000 events to this project's receiver;
 * restart it. Every event is delivered at least once, and the deduplicating receiver processes
 * each exactly once.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { closeAllPools, WebhooksClient } from "gemini-webhooks-client";
import { buildReceiver, loadConfig } from "gemini-webhooks-receiver";
import { kill, spawnEmulator } from "../support/emulator-process";
import { waitFor } from "../support/receiver-stub";
import { freePort } from "../../scripts/free-port";
import { inject } from "../support/inject";
import { admin } from "../support/admin";

const EVENTS = process.env.GEMINI_ADVERSARIAL_LONG === "1" ? 5000 : 1000;

test(`SIGKILL mid-delivery of ${EVENTS} events: each processed exactly once by the deduplicating receiver`, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "gemini-crash-dedup-"));
  const key = "crash-dedup-key-0000000000";
  let emulator = await spawnEmulator(["--data-dir", dataDir, "--api-key", key]);
  const port = await freePort();
  const client = new WebhooksClient({ baseUrl: `${emulator.url}/v1beta`, apiKey: key });
  const hook = await client.create({ uri: `http://127.0.0.1:${port}/webhooks/gemini`, subscribed_events: ["interaction.completed"] });
  const processed = new Map<string, number>();
  const receiver = buildReceiver(loadConfig({ WEBHOOK_SIGNING_SECRETS: hook.new_signing_secret!, LOG_LEVEL: "silent" }), {
    handler: async (e) => void processed.set(e.webhookId, (processed.get(e.webhookId) ?? 0) + 1),
  });
  // From the (EVENTS/4 + 1)th answer on, answers are held after the event was claimed and enqueued:
  // the SIGKILL then lands on deliveries the receiver has taken but the emulator has not recorded,
  // which the restarted emulator sends again. The hook itself closes the gate, at an answer count — on
  // a loaded machine as on an idle one (counting handled events instead raced: with the handlers
  // behind, every delivery could be answered before the gate closed, and none was held).
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  let released = false;
  let answered = 0;
  let held = 0;
  receiver.app.addHook("onSend", async (request, reply) => {
    if (released || reply.statusCode !== 200 || !request.url.startsWith("/webhooks/")) return;
    if (++answered <= EVENTS / 4) return;
    held++;
    await gate;
  });
  await receiver.app.listen({ port, host: "127.0.0.1" });
  try {
    for (let i = 0; i < EVENTS; i++) {
      await admin(emulator, "POST", "/events", { type: "interaction.completed" });
    }
    await waitFor("a delivery taken by the receiver and not yet answered", () => held > 0, 120_000);
    await kill(emulator, "SIGKILL");
    released = true;
    open();
    const atCrash = processed.size;
    emulator = await spawnEmulator(["--data-dir", dataDir, "--api-key", key]);
    const duplicatesAnswered = async () => {
      const metrics = (await inject(receiver.app, { method: "GET", url: "/metrics" })).body;
      return Number(/gemini_webhook_deliveries_total\{outcome="duplicate",kind="static"\} (\d+)/.exec(metrics)?.[1] ?? 0);
    };
    await waitFor(`all ${EVENTS} events processed`, () => processed.size === EVENTS, 180_000);
    // The deliveries held at the kill were handled but never recorded: the restarted emulator sends them again.
    await waitFor("the held deliveries sent again and answered duplicate", async () => (await duplicatesAnswered()) >= held, 120_000, 100);
    await receiver.idle();
    const twice = [...processed.values()].filter((n) => n !== 1).length;
    const duplicates = await duplicatesAnswered();
    console.log(`crash with dedup: ${atCrash} processed at the SIGKILL, ${EVENTS} after restart, ${duplicates} redeliveries answered duplicate, ${twice} processed twice`);
    assert.ok(duplicates > 0, "the crash caused no redelivery: the test did not exercise deduplication");
    assert.equal(twice, 0, "an event was processed more than once");
    assert.equal(processed.size, EVENTS);
  } finally {
    await kill(emulator, "SIGTERM");
    await receiver.close();
    await closeAllPools();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
