/** The emulator's own admin API under `/emulator/v1` (not part of Google's surface), and the JWKS. */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { EmulatorContext } from "../context";
import { EmitEventRequestSchema } from "../delivery/events";
import { FaultConfigSchema } from "../faults";
import { invalidArgument, notFound } from "../google-error";

function parseOrThrow<S extends z.ZodType>(schema: S, body: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(body ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const path = issue.path.length ? issue.path.join(".") : "body";
  const detail = issue.code === "unrecognized_keys" ? `unknown field(s) ${issue.keys.join(", ")}` : issue.message;
  throw invalidArgument(`Invalid ${what} at '${path}': ${detail}.`);
}

const CompleteJobSchema = z.strictObject({ name: z.string().min(1), outcome: z.string().min(1) });

export function registerAdminRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  const admin = { config: { access: "admin" as const } };
  app.get("/emulator/v1/healthz", { config: { access: "public" } }, async () => ({ ok: true }));

  app.get("/emulator/v1/stats", admin, async () => ({
    calls: ctx.metrics.calls,
    faults: ctx.faults.injected,
    webhooks: ctx.store.countWebhooks(),
    deliveries: ctx.deliveries.queue.counts(),
    time_scale: ctx.clock.timeScale,
    now: ctx.clock.iso(),
  }));

  app.put("/emulator/v1/faults", admin, async (request) => {
    const faults = parseOrThrow(FaultConfigSchema, request.body, "fault configuration");
    ctx.faults.configure(faults);
    return { faults };
  });

  /** Emits an event: `{type, data?, webhook_config?}` → `{event_id, deliveries}`. */
  app.post("/emulator/v1/events", admin, async (request) => {
    const body = parseOrThrow(EmitEventRequestSchema, request.body, "event");
    return ctx.deliveries.emit(body.type, body.data, body.webhook_config);
  });

  /** Every delivery (filtered by `event_id` / `webhook_id`) with its attempts. */
  app.get("/emulator/v1/deliveries", admin, async (request) => {
    const query = request.query as Record<string, unknown>;
    const pick = (k: string) => (typeof query[k] === "string" && query[k] !== "" ? (query[k] as string) : undefined);
    const rows = ctx.deliveries.queue.inspect({ eventId: pick("event_id"), webhookId: pick("webhook_id") });
    return {
      deliveries: rows.map((r) => ({
        webhook_id_header: r.msg_id,
        event_id: r.event_id,
        webhook_id: r.webhook_id,
        target: r.target,
        kind: r.kind,
        status: r.status,
        attempts: r.attempt_log.map((a) => ({
          attempt: a.attempt,
          scheduled_time: ctx.clock.iso(a.scheduledAt),
          time: ctx.clock.iso(a.at),
          http_status: a.status,
          latency_ms: a.latencyMs,
          error: a.error,
        })),
        next_attempt_time: r.status === "pending" ? ctx.clock.iso(r.next_attempt_at) : null,
      })),
    };
  });

  /** Finishes a job: `{name: "batches/…", outcome: succeeded|failed|expired|cancelled}`. */
  app.post("/emulator/v1/jobs::complete", admin, async (request) => {
    const { name, outcome } = parseOrThrow(CompleteJobSchema, request.body, "job completion");
    const result = ctx.jobs.complete(name, outcome);
    if ("error" in result) {
      if (result.error === "not_found") throw notFound(`Job ${JSON.stringify(name)} not found.`);
      if (result.error === "already_done") throw invalidArgument(`Job ${JSON.stringify(name)} has already finished.`);
      throw invalidArgument(`Invalid value at 'outcome' (${JSON.stringify(outcome)}): not an outcome of this job's kind.`);
    }
    return { name, state: result.job.state, event_id: result.event_id };
  });

  registerWebhookAdmin(app, ctx, admin);

  /** Retires the dynamic-webhook signing key; the old one stays published for the grace period. */
  app.post("/emulator/v1/jwks::rotate", admin, async () => ({ kid: await ctx.deliveries.keys.rotate() }));

  app.get("/.well-known/jwks.json", { config: { access: "public" } }, async (_request, reply) => {
    reply.header("cache-control", "public, max-age=300");
    return ctx.deliveries.keys.jwks();
  });
}

/** `webhooks/{id}:failDeliveries`: a webhook put into `disabled_due_to_failed_deliveries`, as 24 h of failed deliveries would. */
function registerWebhookAdmin(app: FastifyInstance, ctx: EmulatorContext, admin: { config: { access: "admin" } }): void {
  app.post("/emulator/v1/webhooks/:target", admin, async (request) => {
    const target = (request.params as { target: string }).target;
    const colon = target.indexOf(":"); // the verb is everything after the first colon, matched exactly
    const id = colon < 0 ? target : target.slice(0, colon);
    const verb = colon < 0 ? undefined : target.slice(colon + 1);
    if (verb !== "failDeliveries") throw notFound(`Method ${JSON.stringify(verb ?? "")} not found; the admin API has webhooks/{id}:failDeliveries.`);
    const row = ctx.deliveries.disableForFailedDeliveries(id);
    if (!row) throw notFound(`Webhook ${JSON.stringify(id)} not found.`);
    return { id: row.id, state: row.state };
  });
}
