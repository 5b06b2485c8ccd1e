/** The dynamic-webhooks example's batch submission against the emulator (its wiring: examples/dynamic-webhooks/index.test.ts). */
import assert from "node:assert/strict";
import { startEmulator } from "gemini-webhooks-emulator";
import { submitBatch } from "../../examples/dynamic-webhooks/submit-batch";
import { buildReceiver, loadConfig, ReceivedEvent } from "gemini-webhooks-receiver";
import { TEST_API_KEY } from "../support/emulator";
import { waitFor } from "../support/receiver-stub";
import { freePort } from "../../scripts/free-port";

test("a batch submitted with webhook_config reaches the receiver, verified through the JWKS", async () => {
  const emulator = await startEmulator({ inMemory: true, apiKey: TEST_API_KEY, jobCompletionDelayMs: 50 });
  const port = await freePort();
  const uri = `http://127.0.0.1:${port}/webhooks/gemini/dynamic`;
  const handled: ReceivedEvent[] = [];
  const receiver = buildReceiver(
    loadConfig({ JWKS_URI: `${emulator.url}/.well-known/jwks.json`, JWT_ISSUER: emulator.url, JWT_AUDIENCE: uri, LOG_LEVEL: "silent" }),
    { handler: async (e) => void handled.push(e) },
  );
  await receiver.app.listen({ port, host: "127.0.0.1" });
  try {
    const name = await submitBatch({ apiUrl: emulator.apiUrl, apiKey: TEST_API_KEY, uris: [uri], userMetadata: { job_group: "nightly-eval" } });
    await waitFor("the batch's event", () => handled.length === 1);
    assert.equal(handled[0].type, "batch.succeeded");
    assert.equal(handled[0].data.id, name);
    assert.deepEqual(handled[0].userMetadata, { job_group: "nightly-eval" });
  } finally {
    await receiver.close();
    await emulator.close();
  }
});
