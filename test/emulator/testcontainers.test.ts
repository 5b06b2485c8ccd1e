/**
 * lane: full (Docker)
 * `gemini-webhooks-emulator/testcontainers` as docs/emulator.md shows it: the image started by the
 * `testcontainers` package (healthy before `start()` resolves), Google's JS SDK pointed at `baseUrl`,
 * a receiver on this host verifying the deliveries with the `standardwebhooks` package, the admin
 * helpers (`trigger`, `deliveries`, `failDeliveries`), and `stop()`.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, Server } from "node:http";
import type * as Genai from "@google/genai" with { "resolution-mode": "import" };
import { GeminiEmulatorContainer, StartedGeminiEmulatorContainer } from "gemini-webhooks-emulator/testcontainers";
import { Webhook } from "standardwebhooks";
import { waitFor } from "../../scripts/wait-for";
import { buildEmulatorImage, requireDocker } from "../support/docker";

const { GoogleGenAI } = require("@google/genai") as typeof Genai;

// Testcontainers' reaper is an image from Docker Hub, which this machine cannot pull (docs/emulator.md).
process.env.TESTCONTAINERS_RYUK_DISABLED = "true";

let emulator: StartedGeminiEmulatorContainer | undefined;
let receiver: Server | undefined;
afterAll(async () => {
  await emulator?.stop();
  receiver?.close();
});

test("started by Testcontainers: Google's SDK at baseUrl, signed deliveries to a receiver on the host, the admin helpers", async () => {
  requireDocker();
  emulator = await new GeminiEmulatorContainer(buildEmulatorImage()).withDeliveriesToHost().withJobCompletionDelayMs(0).start();
  const ai = new GoogleGenAI({ apiKey: emulator.apiKey, httpOptions: { baseUrl: emulator.baseUrl } });

  // A receiver on this host, as a user's test would run one: standardwebhooks verifies each delivery.
  const secret: { verifier?: Webhook } = {};
  const verified: string[] = [];
  receiver = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk: Buffer) => (body += chunk));
    request.on("end", () => {
      try {
        const event = secret.verifier!.verify(body, request.headers as Record<string, string>) as { type: string };
        verified.push(event.type);
        response.writeHead(204).end();
      } catch {
        response.writeHead(401).end();
      }
    });
  });
  receiver.listen(0, "0.0.0.0");
  await once(receiver, "listening");
  const port = (receiver.address() as { port: number }).port;

  const created = await ai.webhooks.create({ uri: `http://host.docker.internal:${port}/hook`, subscribed_events: ["batch.succeeded"] });
  secret.verifier = new Webhook(created.new_signing_secret!);
  const { event_id } = await emulator.trigger("batch.succeeded");
  await waitFor("the delivery verified on the host", () => verified.length === 1, 30_000, 100);
  assert.deepEqual(verified, ["batch.succeeded"]);
  const [delivery] = await emulator.deliveries({ eventId: event_id });
  assert.equal(delivery.status, "succeeded");
  assert.equal(delivery.attempts[0].http_status, 204);

  await emulator.failDeliveries(created.id!);
  assert.equal((await ai.webhooks.get(created.id!)).state, "disabled_due_to_failed_deliveries");
  await assert.rejects(emulator.failDeliveries("no-such-webhook"), /404/);

  const stopped = Date.now();
  await emulator.stop();
  emulator = undefined;
  console.log(`testcontainers: stop() in ${Date.now() - stopped} ms`);
}, 180_000);
