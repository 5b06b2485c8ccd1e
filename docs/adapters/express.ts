// Express, like the guide's receiver — but verifying the raw bytes, with every secret of a rotation.
import express, { NextFunction, Request, Response } from "express";
import { statusFor, VerifiedWebhook, WebhookVerifier } from "gemini-webhooks-receiver/web";

export function geminiWebhook(secrets: string) {
  const verifier = new WebhookVerifier({ secrets });
  return [
    express.raw({ type: "application/json", limit: "1mb" }), // the exact bytes, not re-serialised JSON
    async (req: Request, res: Response, next: NextFunction) => {
      try {
        res.locals.geminiEvent = (await verifier.verify(req.body as Buffer, req.headers as Record<string, string>)) satisfies VerifiedWebhook;
        next();
      } catch (err) {
        res.status(statusFor(err)).json({ error: (err as { reason?: string }).reason ?? "error" });
      }
    },
  ];
}

// Use:
//   app.post("/webhooks/gemini", ...geminiWebhook(process.env.GEMINI_WEBHOOK_SECRETS!), (req, res) => {
//     const event = res.locals.geminiEvent;
//     res.sendStatus(204);
//   });
