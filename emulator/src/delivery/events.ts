/**
 * The event catalog of Google's guide and the thin envelope deliveries carry:
 * `{type, version: "v1", timestamp, data}` (+ `user_metadata` for dynamic webhooks).
 */
import { randomBytes } from "node:crypto";
import { z } from "zod";
import { isHttpUrl, MAX_URI_LENGTH } from "gemini-webhooks-client/schema";

/** Echoed in every delivery of the job, so bounded like one. */
export const MAX_USER_METADATA_BYTES = 16 * 1024;

/**
 * All 9 types of the guide's catalog. Only the API's 7 are subscribable by static webhooks; the
 * two `*.cancelled` types are emitted to dynamic (per-job) webhooks, which receive every event of
 * their job.
 */
export const CATALOG = {
  "batch.succeeded": ["id", "output_file_uri"],
  "batch.cancelled": ["id"],
  "batch.expired": ["id"],
  "batch.failed": ["id", "error_code", "error_message"],
  "interaction.requires_action": ["id"],
  "interaction.completed": ["id"],
  "interaction.failed": ["id", "error_code", "error_message"],
  "interaction.cancelled": ["id"],
  "video.generated": ["id", "output_file_uri", "file_name"],
} as const;
export type CatalogEventType = keyof typeof CATALOG;
export const CATALOG_TYPES = Object.keys(CATALOG) as CatalogEventType[];

/** `webhook.ping` is what `:ping` sends (Google does not document it; the emulator's choice). */
export const PING_TYPE = "webhook.ping";

export const WebhookConfigSchema = z.strictObject({
  uris: z
    .array(z.string().max(MAX_URI_LENGTH, { message: `must be at most ${MAX_URI_LENGTH} characters` }).refine(isHttpUrl, { message: "must be an absolute http(s) URL" }))
    .min(1, { message: "must list at least one URI" })
    .max(10, { message: "must list at most 10 URIs" }),
  user_metadata: z
    .record(z.string(), z.unknown())
    .refine((m) => JSON.stringify(m).length <= MAX_USER_METADATA_BYTES, { message: `must serialise to at most ${MAX_USER_METADATA_BYTES} bytes of JSON` })
    .optional(),
});
export type WebhookConfig = z.infer<typeof WebhookConfigSchema>;

export const EmitEventRequestSchema = z.strictObject({
  type: z.enum(CATALOG_TYPES as [CatalogEventType, ...CatalogEventType[]]),
  data: z.record(z.string(), z.unknown()).optional(),
  webhook_config: WebhookConfigSchema.optional(),
});
export type EmitEventRequest = z.infer<typeof EmitEventRequestSchema>;

function token(): string {
  return randomBytes(8).toString("hex");
}

/** Plausible `data` for a type, overridden field by field by `given`. */
export function eventData(type: CatalogEventType, given: Record<string, unknown> = {}): Record<string, unknown> {
  const family = type.split(".")[0];
  const id = given.id ?? (family === "batch" ? `batches/${token()}` : family === "video" ? `operations/${token()}` : `interactions/${token()}`);
  const data: Record<string, unknown> = { id };
  for (const field of CATALOG[type]) {
    if (field === "output_file_uri") data[field] = family === "video" ? `gs://gemini-emulator/videos/${token()}.mp4` : `gs://gemini-emulator/batches/${token()}/results.jsonl`;
    if (field === "file_name") data[field] = `files/${token()}`;
    if (field === "error_code") data[field] = 13;
    if (field === "error_message") data[field] = "Internal error (emulated).";
  }
  return { ...data, ...given };
}

export interface Envelope {
  type: string;
  version: "v1";
  timestamp: string;
  data: Record<string, unknown>;
  user_metadata?: Record<string, unknown>;
}

export function envelope(type: string, data: Record<string, unknown>, at: Date, userMetadata?: Record<string, unknown>): Envelope {
  const body: Envelope = { type, version: "v1", timestamp: at.toISOString().replace(/\.\d{3}Z$/, "Z"), data };
  if (userMetadata !== undefined) body.user_metadata = userMetadata;
  return body;
}
