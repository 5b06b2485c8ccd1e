// Hono (Cloudflare Workers, Bun, Deno, Node): a middleware that verifies, then hands the event on.
import type { MiddlewareHandler } from "hono";
import { statusFor, VerifiedWebhook, WebhookVerifier, WebVerifyOptions } from "gemini-webhooks-receiver/web";

export function geminiWebhook(options: WebVerifyOptions): MiddlewareHandler<{ Variables: { geminiEvent: VerifiedWebhook } }> {
  const verifier = new WebhookVerifier(options);
  return async (c, next) => {
    try {
      c.set("geminiEvent", await verifier.verifyRequest(c.req.raw));
    } catch (err) {
      const status = statusFor(err);
      // A duplicate is answered 200 (Gemini stops retrying) and not handled again.
      return c.json({ error: (err as { reason?: string }).reason ?? "error" }, status as 200 | 400 | 401 | 413 | 500 | 503);
    }
    await next();
  };
}

// Use:
//   app.post("/webhooks/gemini", geminiWebhook({ secrets: env.GEMINI_WEBHOOK_SECRETS }), (c) => {
//     const event = c.get("geminiEvent");
//     return c.body(null, 204);
//   });
