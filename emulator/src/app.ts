/**
 * Builds the emulator's Fastify app: the WebhookService, the admin API and the error mapping that
 * makes every failure answer in Google's error JSON. `buildEmulatorApp` is for `inject` tests;
 * `startEmulator` listens on a port.
 */
import Fastify, { FastifyError, FastifyInstance } from "fastify";
import { API_VERSIONS } from "gemini-webhooks-client/schema";
import { registerAccessControl } from "./auth";
import { HostPolicy } from "./host-policy";
import { redactUrl } from "./redact";
import { Clock } from "./clock";
import { jsonDepthExceeds, MAX_JSON_DEPTH } from "./json-depth";
import type { EmulatorContext } from "./context";
import { FaultConfigInput, FaultInjector, ROUTE_NAMES, RouteName } from "./faults";
import { GoogleApiError, invalidArgument, notFound } from "./google-error";
import { DeliveryEngine } from "./delivery/engine";
import type { Resolver } from "./delivery/targets";
import { JobRunner } from "./jobs";
import { registerAdminRoutes } from "./routes/admin";
import { registerJobRoutes } from "./routes/jobs";
import { registerWebhookRoutes } from "./routes/webhooks";
import { EmulatorStore } from "./store";

export interface EmulatorOptions {
  /** Directory of the SQLite database; omit (or `inMemory: true`) to keep state in memory. */
  dataDir?: string;
  inMemory?: boolean;
  /** Require exactly this API key; when unset any non-empty key is accepted. */
  apiKey?: string;
  /** Emulated time runs this many times faster than real time (default 1). */
  timeScale?: number;
  faults?: FaultConfigInput;
  /** Log requests (never bodies or keys) with pino to stdout, or to `logStream`. */
  logger?: boolean;
  logStream?: NodeJS.WritableStream;
  /** Request body limit in bytes (default 1 MiB). */
  bodyLimit?: number;
  /** Real ms a receiver has to answer 2xx before the attempt counts as failed (default 10 000). */
  deliveryTimeoutMs?: number;
  /** Concurrent deliveries per receiver origin (default 8) and overall (default 128). */
  perEndpointConcurrency?: number;
  overallConcurrency?: number;
  /** Hosts deliveries may go to besides loopback (default none). */
  allowedDeliveryHosts?: string[];
  /** Resolves delivery target names (default the system's `dns.lookup`); every address is checked. */
  deliveryResolver?: Resolver;
  /** Emulated ms after which a job completes as succeeded by itself; 0 = only by admin call (default 2000). */
  jobCompletionDelayMs?: number;
  /** How long a retired JWT signing key stays in the JWKS, emulated ms (default 24 h). */
  jwksGraceMs?: number;
  /** The emulator's public origin, the `iss` of dynamic tokens (default: where it listens). */
  publicUrl?: string;
  /** Interface to listen on (default 127.0.0.1). */
  host?: string;
  /** Host names served besides loopback, the bound address and the public URL's (DNS rebinding protection). */
  allowedHosts?: string[];
  /** Time a client has to send a whole request, ms (default 15 000): slowly sent bodies are cut off. */
  requestTimeoutMs?: number;
}

export interface BuiltEmulator {
  app: FastifyInstance;
  ctx: EmulatorContext;
}

/** The emulator's state and machinery: store, clock, deliveries, jobs, faults. */
function createContext(options: EmulatorOptions): EmulatorContext {
  const store = new EmulatorStore(options.inMemory ? undefined : options.dataDir);
  const clock = new Clock(options.timeScale ?? 1);
  const deliveries = new DeliveryEngine(store, clock, {
    timeoutMs: options.deliveryTimeoutMs ?? 10_000,
    perEndpointConcurrency: options.perEndpointConcurrency ?? 8,
    overallConcurrency: options.overallConcurrency ?? 128,
    allowedHosts: (options.allowedDeliveryHosts ?? []).map((h) => h.toLowerCase()),
    resolver: options.deliveryResolver,
    jwksGraceMs: options.jwksGraceMs,
  });
  return {
    store,
    clock,
    deliveries,
    jobs: new JobRunner(store.db, clock, deliveries, options.jobCompletionDelayMs ?? 2000),
    faults: new FaultInjector(options.faults),
    apiKey: options.apiKey,
    metrics: { calls: Object.fromEntries(ROUTE_NAMES.map((r) => [r, 0])) as Record<RouteName, number> },
  };
}

/** Fastify with the emulator's logging (credentials redacted) and time limits. */
function createFastify(options: EmulatorOptions): FastifyInstance {
  const requestTimeout = options.requestTimeoutMs ?? 15_000;
  return Fastify({
    logger:
      options.logger || options.logStream
        ? {
            level: "info",
            redact: ["req.headers.x-goog-api-key", "req.headers.authorization"],
            // The URL without credentials: clients may send the key as ?key= (Google accepts it so).
            serializers: { req: (req: { method: string; url: string; host?: string; ip?: string }) => ({ method: req.method, url: redactUrl(req.url), host: req.host, remoteAddress: req.ip }) },
            ...(options.logStream ? { stream: options.logStream } : {}),
          }
        : false,
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    return503OnClosing: true,
    // A body sent byte by byte cannot hold a connection: Node checks every second, not every 30 s.
    requestTimeout,
    connectionTimeout: requestTimeout + 5_000,
    http: { connectionsCheckingInterval: 1_000, headersTimeout: Math.min(requestTimeout, 10_000) },
  });
}

/** Google's answers for malformed bodies, unknown paths and every error. */
function registerErrorMapping(app: FastifyInstance): void {
  // Bodies are parsed here so malformed JSON gets Google's answer, whatever the content type says.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string" }, (_req, body, done) => {
    const text = body as string;
    if (text.trim() === "") return done(null, undefined);
    // Depth first: a body nested 300,000 deep must be a 400, not a stack overflow further on.
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
      return done(invalidArgument(`Invalid JSON payload received. Nesting deeper than ${MAX_JSON_DEPTH} levels.`) as unknown as FastifyError, undefined);
    }
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(invalidArgument(`Invalid JSON payload received. ${(err as Error).message}.`) as unknown as FastifyError, undefined);
    }
  });

  app.setErrorHandler((error: FastifyError | GoogleApiError, _request, reply) => {
    if (error instanceof GoogleApiError) return reply.code(error.httpStatus).send(error.toBody());
    const status = (error as FastifyError).statusCode ?? 500;
    if (status === 413) {
      return reply.code(413).send(new GoogleApiError(413, "INVALID_ARGUMENT", "Request payload size exceeds the limit.").toBody());
    }
    if (status >= 400 && status < 500) {
      return reply.code(400).send(invalidArgument(`Invalid request: ${error.message}`).toBody());
    }
    reply.log.error({ err: error }, "emulator internal error");
    return reply.code(500).send(new GoogleApiError(500, "INTERNAL", "Internal error encountered.").toBody());
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0];
    reply.code(404).send(notFound(`The requested URL ${path} was not found on this server.`).toBody());
  });
}

export function buildEmulatorApp(options: EmulatorOptions = {}): BuiltEmulator {
  const ctx = createContext(options);
  const { store, deliveries } = ctx;
  const app = createFastify(options);
  registerErrorMapping(app);
  registerAccessControl(app, ctx.apiKey, new HostPolicy({ host: options.host, publicUrl: options.publicUrl, allowedHosts: options.allowedHosts }));
  // One set of handlers and one store under every version the SDKs call: /v1 by default, /v1beta when asked.
  for (const version of API_VERSIONS) {
    app.register(
      async (api) => {
        registerWebhookRoutes(api, ctx);
        registerJobRoutes(api, ctx);
      },
      { prefix: `/${version}` },
    );
  }
  registerAdminRoutes(app, ctx);
  app.addHook("onReady", async () => {
    deliveries.start(() => options.publicUrl ?? listeningOrigin(app, options.host));
    ctx.jobs.start();
  });
  app.addHook("preClose", async () => {
    ctx.jobs.stop();
    await deliveries.stop();
  });
  app.addHook("onClose", async () => store.close());
  return { app, ctx };
}

/** `http://host:port` of a listening app (the default port before it listens). */
function listeningOrigin(app: FastifyInstance, bound = "127.0.0.1"): string {
  const address = app.server.address();
  const port = address !== null && typeof address === "object" ? address.port : 8089;
  // Bound to every interface: clients on this machine reach it on loopback.
  const host = bound === "0.0.0.0" ? "127.0.0.1" : bound === "::" ? "::1" : bound;
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

export interface RunningEmulator extends BuiltEmulator {
  /** Base URL of the emulator origin, e.g. `http://127.0.0.1:8089`. */
  url: string;
  /** The WebhookService root clients use: `${url}/v1beta`. */
  apiUrl: string;
  close(): Promise<void>;
}

export async function startEmulator(
  options: EmulatorOptions & { port?: number } = {},
): Promise<RunningEmulator> {
  const built = buildEmulatorApp(options);
  const host = options.host ?? "127.0.0.1";
  await built.app.listen({ port: options.port ?? 0, host });
  const address = built.app.server.address();
  if (address === null || typeof address === "string") throw new Error("emulator did not bind a TCP port");
  const url = options.publicUrl ?? listeningOrigin(built.app, host);
  return { ...built, url, apiUrl: `${url}/v1beta`, close: () => built.app.close() };
}
