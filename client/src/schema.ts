/**
 * The one wire schema of the Gemini WebhookService (`/v1beta`), shared by the client and the emulator
 * so the two can never drift apart. Request schemas are exact (unknown keys rejected, as the real
 * API does); response schemas tolerate fields added later.
 */
import { z } from "zod";

/** The 7 subscribable events of the API reference (the guide's `*.cancelled` are not subscribable). */
export const EVENT_TYPES = [
  "batch.succeeded",
  "batch.expired",
  "batch.failed",
  "interaction.requires_action",
  "interaction.completed",
  "interaction.failed",
  "video.generated",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];
export const EventTypeSchema = z.enum(EVENT_TYPES);

export const WEBHOOK_STATES = ["enabled", "disabled", "disabled_due_to_failed_deliveries"] as const;
export type WebhookState = (typeof WEBHOOK_STATES)[number];
export const WebhookStateSchema = z.enum(WEBHOOK_STATES);

export const REVOCATION_BEHAVIORS = [
  "revoke_previous_secrets_after_h24",
  "revoke_previous_secrets_immediately",
] as const;
export type RevocationBehavior = (typeof REVOCATION_BEHAVIORS)[number];
export const RevocationBehaviorSchema = z.enum(REVOCATION_BEHAVIORS);

/** Bounds on what one webhook may hold, so no request, row or list page grows without limit. */
export const MAX_URI_LENGTH = 2048;
export const MAX_NAME_LENGTH = 256;
export const MAX_SUBSCRIBED_EVENTS = 64;

/** An absolute http(s) URL of at most MAX_URI_LENGTH characters; other schemes and relative references are rejected. */
export const HttpUriSchema = z
  .string()
  .max(MAX_URI_LENGTH, { message: `must be at most ${MAX_URI_LENGTH} characters` })
  .refine(isHttpUrl, { message: "must be an absolute http:// or https:// URL" });

export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}

const NameSchema = z.string().max(MAX_NAME_LENGTH, { message: `must be at most ${MAX_NAME_LENGTH} characters` });
const EventListSchema = z
  .array(EventTypeSchema)
  .min(1, { message: "must list at least one event" })
  .max(MAX_SUBSCRIBED_EVENTS, { message: `must list at most ${MAX_SUBSCRIBED_EVENTS} events` });

// ---- requests (exact) ----

export const CreateWebhookRequestSchema = z.strictObject({
  name: NameSchema.optional(),
  uri: HttpUriSchema,
  subscribed_events: EventListSchema,
});
export type CreateWebhookRequest = z.infer<typeof CreateWebhookRequestSchema>;

export const UpdateWebhookRequestSchema = z.strictObject({
  name: NameSchema.optional(),
  uri: HttpUriSchema.optional(),
  subscribed_events: EventListSchema.optional(),
  state: WebhookStateSchema.optional(),
});
export type UpdateWebhookRequest = z.infer<typeof UpdateWebhookRequestSchema>;
export const UPDATABLE_FIELDS = ["name", "uri", "subscribed_events", "state"] as const;

export const RotateSigningSecretRequestSchema = z.strictObject({
  revocation_behavior: RevocationBehaviorSchema.optional(),
});
export type RotateSigningSecretRequest = z.infer<typeof RotateSigningSecretRequestSchema>;

export const PingWebhookRequestSchema = z.strictObject({});

// ---- responses (tolerant) ----

export const SigningSecretSchema = z.looseObject({
  truncated_secret: z.string(),
  expire_time: z.string().optional(),
});
export type SigningSecret = z.infer<typeof SigningSecretSchema>;

export const WebhookSchema = z.looseObject({
  id: z.string(),
  name: z.string().optional(),
  uri: z.string(),
  subscribed_events: z.array(z.string()),
  // Open on read: a state added by Google later must not break parsing.
  state: z.string().optional(),
  signing_secrets: z.array(SigningSecretSchema).optional(),
  new_signing_secret: z.string().optional(),
  create_time: z.string().optional(),
  update_time: z.string().optional(),
});
export type Webhook = z.infer<typeof WebhookSchema>;

export const ListWebhooksResponseSchema = z.looseObject({
  webhooks: z.array(WebhookSchema).optional(),
  next_page_token: z.string().optional(),
});
export type ListWebhooksResponse = z.infer<typeof ListWebhooksResponseSchema>;

export const RotateSigningSecretResponseSchema = z.looseObject({ secret: z.string() });
export type RotateSigningSecretResponse = z.infer<typeof RotateSigningSecretResponseSchema>;

export const EmptyResponseSchema = z.looseObject({});

/** Google's error JSON: `{"error": {"code", "message", "status", "details"?}}`. */
export const GoogleErrorBodySchema = z.looseObject({
  error: z.looseObject({
    code: z.number().int(),
    message: z.string(),
    status: z.string().optional(),
    details: z.array(z.unknown()).optional(),
  }),
});
export type GoogleErrorBody = z.infer<typeof GoogleErrorBodySchema>;

/** How long `revoke_previous_secrets_after_h24` keeps older secrets valid. */
export const ROTATION_GRACE_MS = 24 * 60 * 60 * 1000;

export const LIST_PAGE_SIZE_DEFAULT = 50;
export const LIST_PAGE_SIZE_MAX = 1000;
export const API_REVISION = "2026-05-20";
/** Google's origin; the SDKs take an origin plus an API version, and so does this client. */
export const DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com";
/** The version the API reference documents (the SDKs default to v1; the service answers both). */
export const DEFAULT_API_VERSION = "v1beta";
export const API_VERSIONS = ["v1beta", "v1"] as const;
export type ApiVersion = (typeof API_VERSIONS)[number];

/**
 * The API root requests go to: `baseUrl` as given when its path already names a version
 * (`…/v1beta`, `…/v1`), else `baseUrl` + `/` + `apiVersion`, as the SDKs build it.
 */
export function apiRoot(baseUrl: string, apiVersion: string = DEFAULT_API_VERSION): string {
  const trimmed = baseUrl.replace(/\/+$/, "");
  return /\/v\d+(?:(?:alpha|beta)\d*)?$/.test(new URL(trimmed).pathname) ? trimmed : `${trimmed}/${apiVersion}`;
}
