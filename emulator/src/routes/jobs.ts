/**
 * Job endpoints shaped like the real ones that accept `webhook_config`: batch creation
 * (`models/{model}:batchGenerateContent`, as the SDKs send `batch.webhookConfig`) and background
 * interactions (`/interactions` with `webhook_config`). Only what webhooks need is emulated.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { EmulatorContext } from "../context";
import { WebhookConfig, WebhookConfigSchema } from "../delivery/events";
import { invalidArgument, notFound } from "../google-error";
import type { JobRow } from "../jobs";

const BATCH_STATES: Record<string, string> = {
  pending: "BATCH_STATE_PENDING",
  succeeded: "BATCH_STATE_SUCCEEDED",
  failed: "BATCH_STATE_FAILED",
  expired: "BATCH_STATE_EXPIRED",
  cancelled: "BATCH_STATE_CANCELLED",
};

/** The SDKs send the inner keys as given: Python `user_metadata`, JS `userMetadata`. */
function parseWebhookConfig(raw: unknown, field: string): WebhookConfig | undefined {
  if (raw === undefined) return undefined;
  const value = raw as Record<string, unknown>;
  const normalised =
    value && typeof value === "object" && "userMetadata" in value && !("user_metadata" in value)
      ? { uris: value.uris, user_metadata: value.userMetadata }
      : raw;
  const parsed = WebhookConfigSchema.safeParse(normalised);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = [field, ...issue.path].map((p) => (typeof p === "number" ? `[${p}]` : String(p))).join(".").replace(/\.\[/g, "[");
    throw invalidArgument(`Invalid value at '${path}': ${issue.message}.`);
  }
  return parsed.data;
}

const BatchRequestSchema = z.looseObject({
  batch: z.looseObject({
    display_name: z.string().optional(),
    displayName: z.string().optional(),
    webhook_config: z.unknown().optional(),
    webhookConfig: z.unknown().optional(),
  }),
});

function batchJson(job: JobRow): Record<string, unknown> {
  return {
    name: job.id,
    metadata: {
      "@type": "type.googleapis.com/google.ai.generativelanguage.v1main.GenerateContentBatch",
      name: job.id,
      model: job.model,
      ...(job.display_name ? { displayName: job.display_name } : {}),
      state: BATCH_STATES[job.state] ?? "BATCH_STATE_UNSPECIFIED",
      createTime: new Date(job.create_time).toISOString(),
    },
    done: job.state !== "pending",
  };
}

function interactionJson(job: JobRow): Record<string, unknown> {
  const status = job.state === "pending" ? "in_progress" : job.state === "succeeded" ? "completed" : job.state;
  return {
    id: job.id.slice("interactions/".length),
    model: job.model,
    status,
    ...(job.webhook_config ? { webhook_config: JSON.parse(job.webhook_config) } : {}),
  };
}

export function registerJobRoutes(app: FastifyInstance, ctx: EmulatorContext): void {
  app.post("/models/:modelAction", async (request) => {
    const { modelAction } = request.params as { modelAction: string };
    const colon = modelAction.indexOf(":"); // the method is everything after the first colon, matched exactly
    const model = colon < 0 ? modelAction : modelAction.slice(0, colon);
    const action = colon < 0 ? undefined : modelAction.slice(colon + 1);
    if (action === "batchCreate") {
      throw notFound(`Method "batchCreate" not found on models. Batches are created with models/${model}:batchGenerateContent (the SDKs' batches.create).`);
    }
    if (action !== "batchGenerateContent") throw notFound(`Method "${action ?? ""}" is not emulated for models.`);
    const parsed = BatchRequestSchema.safeParse(request.body);
    if (!parsed.success) throw invalidArgument(`Invalid value at 'batch': the request body must hold a "batch" object.`);
    const { batch } = parsed.data;
    if (batch.webhook_config !== undefined && batch.webhookConfig !== undefined) {
      throw invalidArgument(`Invalid JSON payload received. Give only one of "batch.webhook_config" and "batch.webhookConfig".`);
    }
    const config = parseWebhookConfig(batch.webhookConfig ?? batch.webhook_config, batch.webhookConfig ? "batch.webhookConfig" : "batch.webhook_config");
    const job = ctx.jobs.create("batch", `models/${model}`, batch.displayName ?? batch.display_name, config);
    return batchJson(job);
  });

  app.get("/batches/:id", async (request) => {
    const job = ctx.jobs.get(`batches/${(request.params as { id: string }).id}`);
    if (!job) throw notFound(`Batch not found.`);
    return batchJson(job);
  });

  app.post("/interactions", async (request) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    if (typeof body.model !== "string" && typeof body.agent !== "string") {
      throw invalidArgument(`Field 'model' is required.`);
    }
    const config = parseWebhookConfig(body.webhook_config, "webhook_config");
    if (config && body.background !== true) {
      throw invalidArgument(`Invalid value at 'background': webhook_config requires "background": true.`);
    }
    const job = ctx.jobs.create("interaction", String(body.model ?? body.agent), undefined, config);
    return interactionJson(job);
  });

  app.get("/interactions/:id", async (request) => {
    const job = ctx.jobs.get(`interactions/${(request.params as { id: string }).id}`);
    if (!job) throw notFound(`Interaction not found.`);
    return interactionJson(job);
  });
}
