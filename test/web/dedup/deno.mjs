// Deno: DenoKvDedup over a Deno KV database (`deno run --unstable-kv …`, KV_PATH and DELIVERY in the environment).
import { DenoKvDedup } from "./web.mjs";
import { checkStore } from "./check.mjs";

const kv = await Deno.openKv(Deno.env.get("KV_PATH"));
const result = await checkStore(new DenoKvDedup(kv), JSON.parse(Deno.env.get("DELIVERY")), { atOnce: true });
const delivery = JSON.parse(Deno.env.get("DELIVERY"));
// What the store wrote: the key under its prefix.
result.stored = (await kv.get(["gemini-webhooks", "dedup", delivery.first.headers["webhook-id"]])).value;
console.log(JSON.stringify(result));
kv.close();
