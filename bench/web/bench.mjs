// The same measurement in every runtime: each verifies one ~1 KB delivery n times — (ours) the
// portable verifier, (reference) the standardwebhooks library, (floor) one bare crypto.subtle.verify
// with a key imported once and the signed bytes prepared once — the platform's own cost — and
// (minimal) what any verifier that returns the event must also do: encode "id.timestamp.body" to
// bytes, verify, parse the JSON. Each kind keeps IN_FLIGHT verifications outstanding, as a server
// does: one at a time, Node's and Deno's figures were the latency of handing each verify to a crypto
// thread and back (63–75 µs here against 9–15 µs of work), which says nothing about the verifier.
import { WebhookVerifier } from "./web.mjs";
import { Webhook } from "./standardwebhooks.mjs";

export async function setup(delivery) {
  const { secret, body, headers } = delivery;
  const ours = new WebhookVerifier({ secrets: secret });
  const reference = new Webhook(secret);
  const raw = Uint8Array.from(atob(secret.slice(6)), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey("raw", raw, { name: "HMAC", hash: "SHA-256" }, false, ["verify"]);
  const signature = Uint8Array.from(atob(headers["webhook-signature"].slice(3)), (c) => c.charCodeAt(0));
  const content = new TextEncoder().encode(`${headers["webhook-id"]}.${headers["webhook-timestamp"]}.${body}`);
  await ours.verify(body, headers); // a valid delivery, checked once by each
  reference.verify(body, headers);
  if (!(await crypto.subtle.verify("HMAC", key, signature, content))) throw new Error("floor: not valid");
  const encoder = new TextEncoder();
  const minimal = async () => {
    const bytes = encoder.encode(`${headers["webhook-id"]}.${headers["webhook-timestamp"]}.${body}`);
    if (await crypto.subtle.verify("HMAC", key, signature, bytes)) return JSON.parse(body);
  };
  return {
    ours: inFlight(() => ours.verify(body, headers)),
    reference: async (n) => { for (let i = 0; i < n; i++) reference.verify(body, headers); },
    floor: inFlight(() => crypto.subtle.verify("HMAC", key, signature, content)),
    minimal: inFlight(minimal),
  };
}

export const IN_FLIGHT = 16;

/** n calls of `one`, IN_FLIGHT at a time (each batch awaited whole). */
function inFlight(one) {
  return async (n) => {
    const batch = new Array(IN_FLIGHT);
    for (let i = 0; i < n; i += IN_FLIGHT) {
      for (let j = 0; j < IN_FLIGHT; j++) batch[j] = one();
      await Promise.all(batch);
    }
  };
}

export const KINDS = ["floor", "minimal", "ours", "reference"];

export const ROUNDS = 9;

/** The middle value. */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

/** µs per verification, timed here (not in workerd, whose clock stands still while code runs): ROUNDS rounds interleave the kinds; each kind's median round counts (one slow or fast round on a shared machine moves nothing). */
export async function timeAll(delivery, n) {
  const runs = await setup(delivery);
  const rounds = Object.fromEntries(KINDS.map((k) => [k, []]));
  for (const which of KINDS) await runs[which](Math.min(n, 2000)); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    for (const which of KINDS) {
      const start = performance.now();
      await runs[which](n);
      rounds[which].push(((performance.now() - start) * 1000) / n);
    }
  }
  return Object.fromEntries(KINDS.map((k) => [k, Math.round(median(rounds[k]) * 10) / 10]));
}
