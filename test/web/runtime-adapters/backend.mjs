// The Worker's BACKEND service binding: records the events it is handed (GET /received, on a socket of
// its own) and answers 500 the first time it is handed a body holding "fail_once".
const received = [];
let failed = false;

export default {
  async fetch(request) {
    if (request.method === "GET") return Response.json(received);
    const body = await request.text();
    if (body.includes("fail_once") && !failed) {
      failed = true;
      return new Response("backend down", { status: 500 });
    }
    received.push(JSON.parse(body).data.id);
    return new Response(null, { status: 204 });
  },
};
