// The storage behind workerd's KV binding (Cloudflare's KV service, which does not exist on this
// machine): the binding sends GET, PUT and DELETE https://fake-host/<key>?urlencoded=true[&expiration_ttl=N];
// a key not held is 404. Keys live in this worker's memory, with the TTL they were written with.
const held = new Map();

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname === "/ttl") return Response.json(held.get(url.searchParams.get("key"))?.ttl ?? null);
    const key = decodeURIComponent(url.pathname.slice(1));
    if (request.method === "GET") return held.has(key) ? new Response(held.get(key).value) : new Response(null, { status: 404 });
    if (request.method === "PUT") {
      held.set(key, { value: await request.text(), ttl: Number(url.searchParams.get("expiration_ttl")) });
      return new Response(null);
    }
    if (request.method === "DELETE") {
      held.delete(key);
      return new Response(null);
    }
    return new Response(null, { status: 405 });
  },
};
