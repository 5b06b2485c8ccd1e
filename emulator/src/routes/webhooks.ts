/** The WebhookService REST surface under `/{v1,v1beta}/webhooks`, exactly as the API reference and the SDKs define it. */
import { randomBytes } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import {
  CreateWebhookRequestSchema,
  LIST_PAGE_SIZE_DEFAULT,
  LIST_PAGE_SIZE_MAX,
  PingWebhookRequestSchema,
  RotateSigningSecretRequestSchema,
  ROTATION_GRACE_MS,
  UPDATABLE_FIELDS,
  UpdateWebhookRequestSchema,
} from "gemini-webhooks-client/schema";
import { truncateSecret } from "gemini-webhooks-client";
import type { EmulatorContext } from "../context";
import type { RouteName } from "../faults";
import { GoogleApiError, invalidArgument, methodNotAllowed, notFound } from "../google-error";
import { newSigningSecret } from "../secrets";
import type { WebhookRow } from "../store";
import { knownFieldsOf, parseRequestBody } from "../validation";

type Handler = (request: FastifyRequest, id: string | undefined) => { status?: number; body: unknown };

function newWebhookId(): string {
  // Opaque, URL-safe, no `webhooks/` prefix: as the real API's ids.
  return randomBytes(12).toString("base64url").replace(/[-_]/g, "x").toLowerCase();
}

export function webhookToJson(ctx: EmulatorContext, row: WebhookRow): Record<string, unknown> {
  const secrets = ctx.store.validSecrets(row.id, ctx.clock.now());
  return {
    id: row.id,
    ...(row.name !== null ? { name: row.name } : {}),
    uri: row.uri,
    subscribed_events: row.events,
    state: row.state,
    signing_secrets: secrets.map((s) => ({
      truncated_secret: truncateSecret(s.secret),
      ...(s.expireTime !== null ? { expire_time: ctx.clock.iso(s.expireTime) } : {}),
    })),
    create_time: ctx.clock.iso(row.createTime),
    update_time: ctx.clock.iso(row.updateTime),
  };
}

function snakeCase(path: string): string {
  return path.replace(/[A-Z]/g, (c) => "_" + c.toLowerCase());
}

function encodePageToken(seq: number): string {
  return Buffer.from(JSON.stringify({ after: seq })).toString("base64url");
}

function decodePageToken(token: string): number {
  try {
    const parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as unknown as { after?: unknown };
    if (typeof parsed.after === "number" && Number.isSafeInteger(parsed.after) && parsed.after >= 0) return parsed.after;
  } catch {
    // fall through
  }
  throw invalidArgument(`Invalid value at 'page_token': the token is not one this service issued.`);
}

function parsePageSize(raw: unknown): number {
  if (raw === undefined || raw === "") return LIST_PAGE_SIZE_DEFAULT;
  const text = Array.isArray(raw) ? String(raw[0]) : String(raw);
  if (!/^-?\d+$/.test(text)) throw invalidArgument(`Invalid value at 'page_size' (${JSON.stringify(text)}): expected an integer.`);
  const size = Number(text);
  if (size < 0) throw invalidArgument(`Invalid value at 'page_size' (${size}): must not be negative.`);
  if (size === 0) return LIST_PAGE_SIZE_DEFAULT;
  return Math.min(size, LIST_PAGE_SIZE_MAX); // larger values are coerced, as Google's list methods do
}

function requireWebhook(ctx: EmulatorContext, id: string | undefined): WebhookRow {
  const row = id ? ctx.store.getWebhook(id) : undefined;
  if (!row) throw notFound(`Webhook ${JSON.stringify(id ?? "")} not found.`);
  return row;
}

/** Optional body of the `:verb` methods: absent or empty means `{}`. */
function bodyOrEmpty(request: FastifyRequest): unknown {
  return request.body === undefined || request.body === "" ? {} : request.body;
}

/** PATCH: the fields the body carries, or exactly the `update_mask`'s (AIP-134 clearing). */
function updateWebhook(ctx: EmulatorContext, request: FastifyRequest, id?: string): { status?: number; body: unknown } {
  const current = requireWebhook(ctx, id);
  const body = parseRequestBody(UpdateWebhookRequestSchema, request.body, knownFieldsOf(UpdateWebhookRequestSchema));
  const query = request.query as Record<string, unknown>;
  const maskParam = query.update_mask ?? query.updateMask; // proto3 JSON: either spelling
  let fields: string[] = UPDATABLE_FIELDS.filter((f) => body[f] !== undefined);
  if (typeof maskParam === "string" && maskParam.trim() !== "") {
    // FieldMask paths may be snake_case or lowerCamelCase (the proto3 JSON mapping).
    const mask = [...new Set(maskParam.split(",").map((f) => f.trim()).filter(Boolean).map(snakeCase))];
    const unknown = mask.filter((f) => !(UPDATABLE_FIELDS as readonly string[]).includes(f));
    if (unknown.length > 0) {
      throw invalidArgument(
        `Invalid value at 'update_mask': unknown field(s) ${unknown.join(", ")}; valid: ${UPDATABLE_FIELDS.join(", ")}.`,
      );
    }
    // AIP-134: a masked field the body leaves out is cleared — only the optional name can be.
    const required = mask.filter((f) => f !== "name" && body[f as keyof typeof body] === undefined);
    if (required.length > 0) {
      throw invalidArgument(`Invalid value at 'update_mask': ${required.join(", ")} named but absent from the body; a required field cannot be cleared.`);
    }
    fields = mask;
  }
  const patch: Parameters<typeof ctx.store.updateWebhook>[1] = {};
  if (fields.includes("name")) patch.name = body.name ?? null;
  if (fields.includes("uri")) patch.uri = body.uri;
  if (fields.includes("subscribed_events")) patch.events = body.subscribed_events;
  if (fields.includes("state") && body.state) patch.state = body.state;
  const row = ctx.store.updateWebhook(current.id, patch, ctx.clock.now())!;
  if (patch.state === "enabled" && current.state !== "enabled") ctx.deliveries.onWebhookReenabled(row.id);
  return { body: webhookToJson(ctx, row) };
}

/** The WebhookService's methods, each answering a body (faults are applied around them). */
function webhookHandlers(ctx: EmulatorContext): Record<RouteName, Handler> {
  return {
    create: (request) => {
      const body = parseRequestBody(CreateWebhookRequestSchema, request.body, knownFieldsOf(CreateWebhookRequestSchema));
      const now = ctx.clock.now();
      const secret = newSigningSecret();
      const row = ctx.store.insertWebhook(
        {
          id: newWebhookId(),
          name: body.name ?? null,
          uri: body.uri,
          events: body.subscribed_events,
          state: "enabled",
          createTime: now,
          updateTime: now,
        },
        secret,
      );
      return { body: { ...webhookToJson(ctx, row), new_signing_secret: secret } };
    },
    get: (_request, id) => ({ body: webhookToJson(ctx, requireWebhook(ctx, id)) }),
    list: (request) => {
      const query = request.query as Record<string, unknown>;
      const pageSize = parsePageSize(query.page_size);
      const after = typeof query.page_token === "string" && query.page_token !== "" ? decodePageToken(query.page_token) : 0;
      const rows = ctx.store.listWebhooks(after, pageSize + 1);
      const page = rows.slice(0, pageSize);
      // Google omits empty repeated fields: no webhooks is `{}`.
      const body: Record<string, unknown> = page.length ? { webhooks: page.map((row) => webhookToJson(ctx, row)) } : {};
      if (rows.length > pageSize) body.next_page_token = encodePageToken(page[page.length - 1].seq);
      return { body };
    },
    update: (request, id) => updateWebhook(ctx, request, id),
    delete: (_request, id) => {
      const row = requireWebhook(ctx, id);
      ctx.store.deleteWebhook(row.id);
      ctx.deliveries.onWebhookDeleted(row.id);
      return { body: {} };
    },
    ping: (request, id) => {
      const row = requireWebhook(ctx, id);
      parseRequestBody(PingWebhookRequestSchema, bodyOrEmpty(request), []);
      ctx.deliveries.ping(row);
      return { body: {} };
    },
    rotateSigningSecret: (request, id) => {
      const row = requireWebhook(ctx, id);
      const body = parseRequestBody(
        RotateSigningSecretRequestSchema,
        bodyOrEmpty(request),
        knownFieldsOf(RotateSigningSecretRequestSchema),
      );
      const now = ctx.clock.now();
      const immediate = body.revocation_behavior === "revoke_previous_secrets_immediately";
      const secret = newSigningSecret();
      ctx.store.rotateSecret(row.id, secret, now, immediate ? now : now + ROTATION_GRACE_MS);
      return { body: { secret } };
    },
  };
}

/** Runs one method under the route's injected faults (latency, 429/503, an answer dropped after acting). */
function runner(ctx: EmulatorContext, handlers: Record<RouteName, Handler>) {
  return async (route: RouteName, request: FastifyRequest, reply: FastifyReply, id?: string) => {
    const fault = ctx.faults.decide(route);
    const rule = ctx.faults.ruleFor(route);
    if (rule && rule.latencyMs > 0) await new Promise((r) => setTimeout(r, rule.latencyMs));
    if (fault.kind === "status") {
      const error = new GoogleApiError(
        fault.status,
        fault.status === 429 ? "RESOURCE_EXHAUSTED" : "UNAVAILABLE",
        fault.status === 429 ? "Resource has been exhausted (injected fault)." : "The service is currently unavailable (injected fault).",
      );
      return reply.code(fault.status).header("retry-after", String(fault.retryAfterSeconds)).send(error.toBody());
    }
    ctx.metrics.calls[route]++;
    const result = handlers[route](request, id);
    if (fault.kind === "drop") {
      // The work is done; the caller never learns it.
      reply.hijack();
      request.raw.socket.destroy();
      return;
    }
    return reply.code(result.status ?? 200).send(result.body);
  };
}

export function registerWebhookRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  const run = runner(ctx, webhookHandlers(ctx));
  app.post("/webhooks", (req, reply) => run("create", req, reply));
  app.get("/webhooks", (req, reply) => run("list", req, reply));
  // `{id}` and `{id}:verb` share one path segment: split on the first colon.
  app.route({
    method: ["GET", "PATCH", "DELETE", "POST", "PUT"],
    url: "/webhooks/:target",
    handler: (req, reply) => {
      const target = (req.params as { target: string }).target;
      const colon = target.indexOf(":");
      const id = colon < 0 ? target : target.slice(0, colon);
      const verb = colon < 0 ? undefined : target.slice(colon + 1);
      const path = req.url.split("?")[0];
      if (verb === undefined) {
        const route = ({ GET: "get", PATCH: "update", DELETE: "delete" } as Record<string, RouteName>)[req.method];
        if (!route) throw methodNotAllowed(req.method, path);
        return run(route, req, reply, id);
      }
      if (verb !== "ping" && verb !== "rotateSigningSecret") {
        const hint = verb.toLowerCase().includes("rotate") ? ` Did you mean "${id}:rotateSigningSecret"?` : "";
        throw notFound(`Method "${verb}" not found on webhooks. Valid custom methods: ping, rotateSigningSecret.${hint}`);
      }
      if (req.method !== "POST") throw methodNotAllowed(req.method, path);
      return run(verb, req, reply, id);
    },
  });
  app.route({
    method: ["PUT", "PATCH", "DELETE"],
    url: "/webhooks",
    handler: (req) => {
      throw methodNotAllowed(req.method, req.url.split("?")[0]);
    },
  });
  // The guide's curl spelling; no SDK sends it, and the API does not serve it.
  app.post("/webhooks/:id/rotate_secret", (req) => {
    const { id } = req.params as { id: string };
    throw notFound(`The requested URL ${req.url.split("?")[0]} was not found on this server. Secrets are rotated with POST ${req.url.split("/webhooks/")[0]}/webhooks/${id}:rotateSigningSecret (the SDKs' webhooks.rotateSigningSecret).`);
  });
}
