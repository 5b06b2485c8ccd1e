/**
 * `inject(app, request)`: a request to a Fastify app over real HTTP. The app listens on port 0 on
 * first use (and stops with `app.close()`), so suites meet the servers as users and attackers do,
 * through a socket, not through Fastify's in-process `inject`.
 */
import type { FastifyInstance } from "fastify";
import { request } from "undici";

export interface InjectRequest {
  method: "GET" | "POST" | "PATCH" | "DELETE" | "PUT" | "HEAD" | "OPTIONS";
  url: string;
  headers?: Record<string, string>;
  /** A string or Buffer is sent as is; anything else as JSON. */
  payload?: unknown;
}

export interface InjectResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json(): any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

const origins = new WeakMap<FastifyInstance, Promise<string>>();

function originOf(app: FastifyInstance): Promise<string> {
  let origin = origins.get(app);
  if (!origin) {
    // An app the suite already started is used where it listens.
    const listening = app.server.listening ? Promise.resolve() : app.listen({ port: 0, host: "127.0.0.1" });
    origin = listening.then(() => {
      const address = app.server.address();
      if (!address || typeof address === "string") throw new Error("the app did not listen on TCP");
      return `http://127.0.0.1:${address.port}`;
    });
    origins.set(app, origin);
  }
  return origin;
}

export async function inject(app: FastifyInstance, req: InjectRequest): Promise<InjectResponse> {
  const headers: Record<string, string> = { ...req.headers };
  let body: string | Buffer | undefined;
  if (typeof req.payload === "string" || Buffer.isBuffer(req.payload)) body = req.payload;
  else if (req.payload !== undefined) {
    body = JSON.stringify(req.payload);
    if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) headers["content-type"] = "application/json";
  }
  const response = await request(`${await originOf(app)}${req.url}`, { method: req.method, headers, body });
  const text = await response.body.text();
  return { statusCode: response.statusCode, headers: response.headers, body: text, json: () => JSON.parse(text) };
}
