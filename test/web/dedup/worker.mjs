// Cloudflare Workers (workerd): WorkersKvDedup over the KV namespace binding `KV`. GET /check runs the
// check; GET /ttl?key= asks the namespace's backing service what expirationTtl a key was written with.
import { WorkersKvDedup } from "./web.mjs";
import { checkStore } from "./check.mjs";

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (url.pathname === "/check") return Response.json(await checkStore(new WorkersKvDedup(env.KV), JSON.parse(env.DELIVERY), { atOnce: false }));
    if (url.pathname === "/ttl") return env.KV_STORAGE.fetch(`https://kv-storage/ttl?key=${encodeURIComponent(url.searchParams.get("key"))}`);
    return new Response("not found", { status: 404 });
  },
};
