// Node 24: the portable entry behind node:http (a Request made from each IncomingMessage).
import { createServer } from "node:http";
import { Readable } from "node:stream";
import { makeHandler } from "./handler.mjs";

const handler = makeHandler(process.env);
createServer(async (req, res) => {
  const hasBody = req.method !== "GET" && req.method !== "HEAD";
  const request = new Request(`http://${req.headers.host}${req.url}`, { method: req.method, headers: req.headers, ...(hasBody ? { body: Readable.toWeb(req), duplex: "half" } : {}) });
  const response = await handler(request);
  res.writeHead(response.status, Object.fromEntries(response.headers));
  res.end(Buffer.from(await response.arrayBuffer()));
}).listen(Number(process.env.PORT), "127.0.0.1", () => console.log("listening"));
