// One handler for every runtime: the portable verifier behind two routes — /verify (the conformance
// vectors' secrets and key set, no dedup), /dedup (the same with an in-memory dedup store) and
// /emulator (the emulator's webhook secret and key set) — answering what it concluded as JSON.
// GET /received lists the deliveries it accepted. `config` holds the runtime's environment.
import { MemoryDedup, statusFor, WebhookVerifier } from "./web.mjs";

export function makeHandler(config) {
  const dynamic = (prefix) => (config[`${prefix}JWKS_URI`] ? { jwksUri: config[`${prefix}JWKS_URI`], issuer: config[`${prefix}ISSUER`], audience: config[`${prefix}AUDIENCE`] } : undefined);
  const verifiers = {
    "/verify": new WebhookVerifier({ secrets: config.SECRETS, dynamic: dynamic("") }),
    "/dedup": new WebhookVerifier({ secrets: config.SECRETS, dynamic: dynamic(""), dedup: new MemoryDedup() }),
    "/emulator": new WebhookVerifier({ secrets: config.EMU_SECRET, dynamic: dynamic("EMU_") }),
  };
  const received = [];
  return async (request) => {
    const { pathname } = new URL(request.url);
    if (request.method === "GET" && pathname === "/received") return Response.json(received);
    const verifier = verifiers[pathname];
    if (!verifier || request.method !== "POST") return new Response("not found", { status: 404 });
    try {
      const event = await verifier.verifyRequest(request);
      received.push({ route: pathname, kind: event.kind, webhookId: event.webhookId, type: event.type });
      return Response.json({ ok: true, kind: event.kind, webhookId: event.webhookId, type: event.type, body: event.body });
    } catch (err) {
      return Response.json({ ok: false, reason: err.reason ?? "error", detail: err.detail ?? String(err) }, { status: statusFor(err) });
    }
  };
}
