// Cloudflare Workers: src/index.ts. GEMINI_WEBHOOK_SECRETS is a secret (`wrangler secret put`), DEDUP a
// KV namespace binding, BACKEND a service binding to the Worker (or origin) that handles the events.
import { statusFor, WebhookVerifier, WorkersKvDedup, type WorkersKvLike } from "gemini-webhooks-receiver/web";

interface Env {
  GEMINI_WEBHOOK_SECRETS: string;
  DEDUP: WorkersKvLike;
  BACKEND: { fetch(url: string, init: RequestInit): Promise<Response> };
}

let verifier: WebhookVerifier | undefined; // one per isolate: the keys are imported once

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (request.method !== "POST") return new Response(null, { status: 405 });
    verifier ??= new WebhookVerifier({ secrets: env.GEMINI_WEBHOOK_SECRETS, dedup: new WorkersKvDedup(env.DEDUP) });
    let event;
    try {
      event = await verifier.verifyRequest(request);
    } catch (err) {
      // 200 for a duplicate (Gemini stops retrying), 4xx for a refusal, 503 if the key set is unreachable.
      return Response.json({ error: (err as { reason?: string }).reason ?? "error" }, { status: statusFor(err) });
    }
    const handed = await env.BACKEND.fetch("https://backend/events", { method: "POST", headers: { "content-type": "application/json" }, body: event.body }).catch(() => undefined);
    if (!handed?.ok) {
      await verifier.forget(event); // Gemini's retry is then handled, not refused as a duplicate
      return new Response(null, { status: 502 });
    }
    return new Response(null, { status: 204 });
  },
};
