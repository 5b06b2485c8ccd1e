// The same check of a dedup store in every runtime: a verifier over the store is handed one signed
// delivery 8 times (at once, or one after another for a store without compare-and-set), once more
// later, and a second delivery; then it forgets the first (its handling "failed") and is handed it
// again, as Gemini's retry. It answers what each verification concluded.
import { WebhookVerifier } from "./web.mjs";

export async function checkStore(store, delivery, { atOnce }) {
  const verifier = new WebhookVerifier({ secrets: delivery.secret, dedup: store });
  let event;
  const outcome = (promise) => promise.then((verified) => ((event = verified), "accepted"), (err) => err.reason ?? `error: ${err}`);
  const first = () => outcome(verifier.verify(delivery.first.body, delivery.first.headers));
  let copies = [];
  if (atOnce) copies = await Promise.all(Array.from({ length: 8 }, first));
  else for (let i = 0; i < 8; i++) copies.push(await first());
  const accepted = event;
  const later = await first();
  const second = await outcome(verifier.verify(delivery.second.body, delivery.second.headers));
  await verifier.forget(accepted);
  const retried = await first();
  return { copies, later, second, retried };
}
