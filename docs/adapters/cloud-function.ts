// Google Cloud Functions / Cloud Run functions (@google-cloud/functions-framework): the framework
// keeps the exact bytes as req.rawBody, which is what the signature covers.
import * as functions from "@google-cloud/functions-framework";
import { statusFor, WebhookVerifier } from "gemini-webhooks-receiver/web";

const verifier = new WebhookVerifier({ secrets: process.env.GEMINI_WEBHOOK_SECRETS ?? "" });

functions.http("geminiWebhook", async (req, res) => {
  if (req.method !== "POST" || !req.rawBody || !req.is("application/json")) {
    res.status(400).json({ error: "malformed" });
    return;
  }
  try {
    const event = await verifier.verify(req.rawBody, req.headers as Record<string, string>);
    console.log("gemini event", event.type, event.webhookId);
    res.status(204).end();
  } catch (err) {
    res.status(statusFor(err)).json({ error: (err as { reason?: string }).reason ?? "error" });
  }
});
