// Bun: server.ts, run with `bun server.ts`. Bun's own Redis client (REDIS_URL) holds the dedup keys, so
// every instance behind a load balancer handles a delivery once, and takes the events: a stream your
// workers read with a consumer group (XREADGROUP), which keeps what they have not acknowledged.
import { RedisClient } from "bun";
import { RedisDedup, statusFor, WebhookVerifier } from "gemini-webhooks-receiver/web";

const redis = new RedisClient(Bun.env.REDIS_URL);
const verifier = new WebhookVerifier({
  secrets: Bun.env.GEMINI_WEBHOOK_SECRETS ?? "",
  dedup: new RedisDedup((args) => redis.send(args[0], args.slice(1))),
});

Bun.serve({
  port: Number(Bun.env.PORT ?? 3000),
  hostname: Bun.env.HOST ?? "0.0.0.0",
  async fetch(request) {
    if (request.method !== "POST") return new Response(null, { status: 405 });
    let event;
    try {
      event = await verifier.verifyRequest(request);
    } catch (err) {
      return Response.json({ error: (err as { reason?: string }).reason ?? "error" }, { status: statusFor(err) });
    }
    try {
      await redis.send("XADD", ["gemini-events", "*", "id", event.webhookId, "type", event.type, "body", event.body]);
    } catch {
      await verifier.forget(event); // Gemini's retry is then handled, not refused as a duplicate
      return new Response(null, { status: 503 });
    }
    return new Response(null, { status: 204 });
  },
});
console.log(`listening on ${Bun.env.PORT ?? 3000}`);
