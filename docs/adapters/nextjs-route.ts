// Next.js App Router: app/webhooks/gemini/route.ts (Node.js or Edge runtime alike).
import { statusFor, WebhookVerifier } from "gemini-webhooks-receiver/web";

const verifier = new WebhookVerifier({ secrets: process.env.GEMINI_WEBHOOK_SECRETS ?? "" });

export async function POST(request: Request): Promise<Response> {
  let event;
  try {
    event = await verifier.verifyRequest(request);
  } catch (err) {
    return Response.json({ error: (err as { reason?: string }).reason ?? "error" }, { status: statusFor(err) });
  }
  // Idempotent on event.webhookId: Gemini delivers at least once.
  console.log("gemini event", event.type, event.webhookId);
  return new Response(null, { status: 204 });
}
