/** Benchmark target (a): this project's receiver, verify + dedup + enqueue, handler a no-op. */
import { buildReceiver, loadConfig } from "gemini-webhooks-receiver";

const receiver = buildReceiver(loadConfig({ ...process.env, LOG_LEVEL: "warn" }), { handler: async () => undefined });
receiver.app.listen({ port: 0, host: "127.0.0.1" }).then(() => {
  const address = receiver.app.server.address() as { port: number };
  console.log(`listening ${address.port}`);
});
process.on("SIGINT", () => process.exit(0)); // lets --cpu-prof write its profile
