/**
 * Benchmark target (a): this project's receiver, verify + dedup + hand-off, handler a no-op; with
 * REDIS_URL set, the durable mode (the atomic accept script, workers acknowledging each event); with
 * HANDLER_URL, each event forwarded (re-signed) to that backend instead.
 */
import { buildReceiver, loadConfig, ReceivedEvent } from "gemini-webhooks-receiver";

// A no-op handler in the process (what HANDLER_MODULE loads); with HANDLER_URL, the forwarder instead.
// BENCH_FETCH_URL: a handler module that POSTs each event there with fetch, as a user's module calling its API would.
const { BENCH_FETCH_URL: fetchUrl, ...env } = process.env;
const config = loadConfig({ ...env, LOG_LEVEL: "warn" });
const posting = async (event: ReceivedEvent) => {
  const response = await fetch(fetchUrl!, { method: "POST", headers: { "content-type": "application/json", "webhook-id": event.webhookId }, body: event.body });
  await response.arrayBuffer();
  if (!response.ok) throw new Error(`answered ${response.status}`);
};
const receiver = buildReceiver(config, config.forward ? {} : { handler: fetchUrl ? posting : async () => undefined });
receiver.start().then(() => receiver.app.listen({ port: 0, host: "127.0.0.1" })).then(() => {
  const address = receiver.app.server.address() as { port: number };
  console.log(`listening ${address.port}`);
});
process.on("SIGINT", () => process.exit(0)); // lets --cpu-prof write its profile
