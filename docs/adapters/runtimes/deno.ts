// Deno and Deno Deploy: main.ts, run with `deno run --unstable-kv --allow-net --allow-env main.ts`.
// Deno KV holds the dedup keys (on Deploy, the project's database; locally, DENO_KV_PATH or Deno's
// default) and queues the events: kv.listenQueue runs your handler, retrying it if it throws.
import { DenoKvDedup, statusFor, WebhookVerifier } from "gemini-webhooks-receiver/web";

const kv = await Deno.openKv(Deno.env.get("DENO_KV_PATH"));
const verifier = new WebhookVerifier({ secrets: Deno.env.get("GEMINI_WEBHOOK_SECRETS") ?? "", dedup: new DenoKvDedup(kv) });

kv.listenQueue((event: { webhookId: string; type: string }) => {
  console.log("gemini event", event.type, event.webhookId); // your handler, idempotent on webhookId
});

Deno.serve({ port: Number(Deno.env.get("PORT") ?? 8000) }, async (request) => {
  if (request.method !== "POST") return new Response(null, { status: 405 });
  let event;
  try {
    event = await verifier.verifyRequest(request);
  } catch (err) {
    return Response.json({ error: (err as { reason?: string }).reason ?? "error" }, { status: statusFor(err) });
  }
  try {
    await kv.enqueue({ webhookId: event.webhookId, type: event.type, data: event.data });
  } catch {
    await verifier.forget(event); // Gemini's retry is then handled, not refused as a duplicate
    return new Response(null, { status: 503 });
  }
  return new Response(null, { status: 204 });
});
