/**
 * Benchmark target (a): this project's receiver, verify + dedup + hand-off, handler a no-op; with
 * REDIS_URL set, the durable mode (the atomic accept script, workers acknowledging each event); with
 * HANDLER_URL, each event forwarded (re-signed) to that backend instead.
 */
import { buildReceiver, loadConfig } from "gemini-webhooks-receiver";

// A no-op handler in the process (what HANDLER_MODULE loads); with HANDLER_URL, the forwarder instead.
const config = loadConfig({ ...process.env, LOG_LEVEL: "warn" });
const receiver = buildReceiver(config, config.forward ? {} : { handler: async () => undefined });
receiver.start().then(() => receiver.app.listen({ port: 0, host: "127.0.0.1" })).then(() => {
  const address = receiver.app.server.address() as { port: number };
  console.log(`listening ${address.port}`);
});
process.on("SIGINT", () => process.exit(0)); // lets --cpu-prof write its profile
