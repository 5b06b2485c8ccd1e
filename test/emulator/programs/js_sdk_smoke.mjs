// Google's JavaScript SDK (@google/genai) at its defaults: the key from GEMINI_API_KEY and the origin
// from GOOGLE_GEMINI_BASE_URL, nothing else configured. Creates, lists, rotates and gets a webhook;
// prints one JSON line of what it observed. argv[2]: the webhook's URI.
import { GoogleGenAI } from "@google/genai";

const ai = new GoogleGenAI({});
const created = await ai.webhooks.create({ uri: process.argv[2], subscribed_events: ["batch.succeeded"], name: "js-sdk" });
const listed = ((await ai.webhooks.list()).webhooks ?? []).map((w) => w.id);
const rotated = await ai.webhooks.rotateSigningSecret(created.id, { revocation_behavior: "revoke_previous_secrets_after_h24" });
const got = await ai.webhooks.get(created.id);
console.log(JSON.stringify({ id: created.id, secretPrefix: created.new_signing_secret?.slice(0, 6), listed, rotatedPrefix: rotated.secret?.slice(0, 6), secrets: got.signing_secrets?.length }));
