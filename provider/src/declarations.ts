/**
 * The one declaration of each resource, function and configuration key: its properties with their
 * schema type, TypeScript type, description, validation, secret mark, default, whether an input is
 * required and whether a new value replaces the resource. Everything else is derived from here:
 * the plugin's package schema (plugin/schema.ts) and secret wrapping (plugin/resources.ts), the
 * inputs `check()` validates (impl/), the dynamic resources' TypeScript classes and their `.d.ts`
 * (generated/resources.ts, by `npm run generate`), and docs/reference.md. Behaviour lives beside the
 * implementation (impl/*-provider.ts); shape lives here.
 */
import { z } from "zod";
import { DEFAULT_API_VERSION, DEFAULT_BASE_URL, EVENT_TYPES, isHttpUrl, REVOCATION_BEHAVIORS } from "gemini-webhooks-client";

export interface Property {
  /** The Pulumi schema type (absent for a reference to one of `TYPES`). */
  type?: "string" | "boolean" | "array";
  /** A reference to one of `TYPES`. */
  $ref?: string;
  /** An array's elements: a type, or a reference to one of `TYPES`. */
  items?: { type: "string" } | { $ref: string };
  description: string;
  /** The value's TypeScript type, as the dynamic resource declares it. */
  ts: string;
  /** Encrypted in state, wrapped as a secret by the plugin, marked in every SDK. */
  secret?: boolean;
  default?: string;
}

export interface InputProperty extends Property {
  /** Validates (and normalizes) a known value in `check()`; the message names what is wrong. */
  validate: z.ZodType;
  required?: boolean;
  /** A new value replaces the resource; otherwise the resource updates in place. */
  replaces?: boolean;
}

export interface ResourceDeclaration {
  /** The plugin's type token. */
  token: string;
  /** The dynamic resource's class and type name (`pulumi-nodejs:dynamic/gemini:<name>`). */
  name: string;
  description: string;
  inputs: Record<string, InputProperty>;
  /** Outputs besides the inputs; one with an input's name describes that input's output value. */
  outputs: Record<string, Property>;
  /** The outputs state always holds. */
  requiredOutputs: string[];
}

export interface FunctionDeclaration {
  token: string;
  description: string;
  args: Record<string, Property>;
  requiredArgs?: string[];
  results: Record<string, Property>;
  requiredResults: string[];
}

const str = (description: string, extra: Partial<Property> = {}): Property => ({ type: "string", ts: "string", description, ...extra });
const events = `Valid events: ${EVENT_TYPES.join(", ")}.`;

export const SIGNING_SECRET_INFO = "gemini:index:SigningSecretInfo";
export const WEBHOOK_INFO = "gemini:index:WebhookInfo";

export interface TypeDeclaration {
  name: string;
  description: string;
  properties: Record<string, Property>;
  required: string[];
}

/** Object types the schema declares (referenced by `$ref`). */
export const TYPES: Record<string, TypeDeclaration> = {
  [SIGNING_SECRET_INFO]: {
    name: "SigningSecretInfo",
    description: "A currently valid signing secret as the API lists it: truncated, never the whole secret.",
    properties: {
      truncatedSecret: str("The secret's first and last characters, e.g. `whsec_ab…yz`."),
      expireTime: str("When the secret stops working (RFC 3339); absent for the newest secret.", { ts: "string | null" }),
    },
    required: ["truncatedSecret"],
  },
};

export const WEBHOOK: ResourceDeclaration = {
  token: "gemini:index:Webhook",
  name: "Webhook",
  description:
    "A Gemini API webhook. Its signing secret is returned once, at create, and kept encrypted in state. Nothing replaces a webhook: every input updates in place. `pulumi import gemini:index:Webhook <name> <id>` adopts a live webhook with its inputs read back; the API never returns a secret, so an imported webhook holds none until a SecretRotation rotates it.",
  inputs: {
    uri: {
      ...str("Where deliveries are POSTed: an absolute http(s) URL. Updates in place."),
      required: true,
      validate: z
        .string({ error: "must be a string" })
        .refine(isHttpUrl, { message: "must be an absolute http:// or https:// URL, e.g. https://example.com/webhooks/gemini" }),
    },
    subscribedEvents: {
      type: "array",
      items: { type: "string" },
      ts: "string[]",
      description: `Events to deliver (any order, any case; duplicates ignored). Updates in place. ${events}`,
      required: true,
      validate: z
        .array(z.string({ error: "each event must be a string" }), { error: "must be a list of event names" })
        .min(1, { message: `must list at least one event; valid events: ${EVENT_TYPES.join(", ")}` }),
    },
    name: {
      ...str("Display name in the API. Updates in place."),
      validate: z.string({ error: "must be a string" }).max(256, { message: "must be at most 256 characters" }).optional(),
    },
    state: {
      ...str("`enabled` or `disabled`; omit to leave the live state alone. Updates in place.", { ts: '"enabled" | "disabled"' }),
      validate: z
        .string({ error: "must be a string" })
        .transform((s) => s.toLowerCase())
        .pipe(z.enum(["enabled", "disabled"], { error: 'must be "enabled" or "disabled"' }))
        .optional(),
    },
    adoptExisting: {
      type: "boolean",
      ts: "boolean",
      description:
        "On create, adopt a webhook with the same name and uri instead of creating a duplicate; adoption rotates the secret once (24 h grace). With the plugin, `pulumi import` is the better way in.",
      validate: z.boolean({ error: "must be a boolean" }).optional(),
    },
  },
  outputs: {
    state: str("The live state: `enabled`, `disabled` or `disabled_due_to_failed_deliveries`."),
    desiredState: str("The state the program asked for, or absent when the program leaves it alone.", { ts: "string | null" }),
    signingSecret: str(
      "The secret returned when the webhook was created (or adopted). Absent after `pulumi import`: rotate with a SecretRotation to obtain one.",
      { secret: true },
    ),
    signingSecrets: {
      type: "array",
      items: { $ref: `#/types/${SIGNING_SECRET_INFO}` },
      ts: "SigningSecretInfo[]",
      description: "The currently valid secrets as the API lists them (truncated), newest first.",
    },
    createTime: str("When the webhook was created (RFC 3339).", { ts: "string | null" }),
    updateTime: str("When the webhook was last changed (RFC 3339).", { ts: "string | null" }),
  },
  requiredOutputs: ["uri", "subscribedEvents", "name", "state", "adoptExisting", "signingSecrets"],
};

/** What the lookups return: a webhook's fields as the API reports them, described once with the resource. */
TYPES[WEBHOOK_INFO] = {
  name: "WebhookInfo",
  description: "A webhook as the API reports it, for lookups: every field but a signing secret (the API never returns one). Its uri is a secret value: a lookup cannot know whether the webhook's owner marked it secret (a uri can carry a token).",
  properties: {
    id: str("The webhook's id."),
    uri: str("Where deliveries are POSTed (a secret value: it can carry a token).", { secret: true }),
    subscribedEvents: { type: "array", items: { type: "string" }, ts: "string[]", description: "The events it receives." },
    name: str("Display name in the API (empty when it has none)."),
    state: WEBHOOK.outputs.state,
    signingSecrets: WEBHOOK.outputs.signingSecrets,
    createTime: WEBHOOK.outputs.createTime,
    updateTime: WEBHOOK.outputs.updateTime,
  },
  required: ["id", "uri", "subscribedEvents", "name", "state", "signingSecrets"],
};

export const SECRET_ROTATION: ResourceDeclaration = {
  token: "gemini:index:SecretRotation",
  name: "SecretRotation",
  description:
    "Rotates a webhook's signing secret once, when created. Change `rotationKey` to rotate again; receivers keep accepting the previous secret for 24 h (by default). Deleting it makes no API call: a rotation cannot be undone.",
  inputs: {
    webhookId: {
      ...str("The webhook to rotate (a Webhook's id). A new value replaces this resource, which rotates again."),
      required: true,
      replaces: true,
      validate: z.string({ error: "must be a string (the Webhook's id)" }).min(1, { message: "must not be empty" }),
    },
    rotationKey: {
      ...str("Any string, e.g. a config value such as `2026-12`. A new value replaces this resource (create before delete): that is a rotation."),
      required: true,
      replaces: true,
      validate: z
        .union([z.string(), z.number()], { error: "must be a string, e.g. a config value such as 2026-12" })
        .transform(String)
        .pipe(z.string().min(1, { message: "must not be empty" })),
    },
    revocationBehavior: {
      ...str(
        `${REVOCATION_BEHAVIORS.join(" (default) or ")}: whether the secrets this rotation replaces keep working for 24 h. Upper-case spellings are accepted.`,
        { default: "revoke_previous_secrets_after_h24" },
      ),
      validate: z
        .string({ error: "must be a string" })
        .transform((s) => s.toLowerCase())
        .pipe(z.enum(REVOCATION_BEHAVIORS, { error: `must be one of ${REVOCATION_BEHAVIORS.join(", ")}` }))
        .default("revoke_previous_secrets_after_h24"),
    },
    rotateAfter: {
      ...str(
        "Rotate again once the last rotation is this old: `90d`, `12h`, `30m` or `30s`. Checked by every `pulumi preview` and `up` (nothing runs on its own): the first `up` after it is due rotates once; before that, no change and no API call. Changing it rotates nothing by itself, unless the new period has already elapsed since the last rotation (that `up` rotates, and says so).",
      ),
      validate: z
        .string({ error: 'must be a duration such as "90d", "12h", "30m" or "30s"' })
        .regex(/^[1-9]\d{0,5}[smhd]$/, { message: 'must be a duration such as "90d", "12h", "30m" or "30s"' })
        .optional(),
    },
  },
  outputs: {
    secret: str("The new signing secret.", { secret: true }),
    rotationDueAt: str("When `rotateAfter` makes the next rotation due (RFC 3339); absent without `rotateAfter`.", { ts: "string | null" }),
    rotatedAt: str("When the rotation happened (RFC 3339)."),
    previousSecretsExpireAt: str("When the secrets this rotation replaced stop working; absent with immediate revocation.", { ts: "string | null" }),
    superseded: { type: "boolean", ts: "boolean", description: "True once a later rotation (by anyone) made this secret no longer the newest; seen on refresh." },
  },
  requiredOutputs: ["webhookId", "rotationKey", "revocationBehavior", "secret", "rotatedAt", "superseded"],
};

export const RESOURCES = [WEBHOOK, SECRET_ROTATION] as const;

export const GET_CURRENT_SIGNING_SECRETS: FunctionDeclaration = {
  token: "gemini:index:getCurrentSigningSecrets",
  description:
    "Every secret a receiver must accept now, newest first: the rotation's secret, plus the webhook's creation secret while the rotation's grace window lasts. Computed from the values given; no API call.",
  args: {
    signingSecret: str("The Webhook's `signingSecret`.", { secret: true }),
    rotationSecret: str("The SecretRotation's `secret`, if the webhook has one.", { secret: true }),
    previousSecretsExpireAt: str("The SecretRotation's `previousSecretsExpireAt`."),
    at: str("The moment to evaluate the grace window at (RFC 3339); default: now."),
  },
  results: {
    secrets: { type: "array", items: { type: "string" }, ts: "string[]", description: "The secrets, newest first.", secret: true },
    env: str("The same list joined by spaces, for the receiver's WEBHOOK_SIGNING_SECRETS.", { secret: true }),
  },
  requiredResults: ["secrets", "env"],
};

export const GET_WEBHOOK: FunctionDeclaration = {
  token: "gemini:index:getWebhook",
  description: "Looks up a webhook this program does not manage, by id: every field but a secret. One API call at each preview and up.",
  args: { id: str("The webhook's id.") },
  requiredArgs: ["id"],
  results: TYPES[WEBHOOK_INFO].properties,
  requiredResults: TYPES[WEBHOOK_INFO].required,
};

export const GET_WEBHOOKS: FunctionDeclaration = {
  token: "gemini:index:getWebhooks",
  description: "Looks up webhooks this program does not manage, by exact name and/or uri (all of them when neither is given): every field but a secret.",
  args: { name: str("Only webhooks with this display name."), uri: str("Only webhooks delivering to this uri.") },
  results: { webhooks: { type: "array", items: { $ref: `#/types/${WEBHOOK_INFO}` }, ts: "WebhookInfo[]", description: "The webhooks found, in the API's order." } },
  requiredResults: ["webhooks"],
};

export const FUNCTIONS = [GET_CURRENT_SIGNING_SECRETS, GET_WEBHOOK, GET_WEBHOOKS] as const;

/** The provider's configuration (`gemini:<key>`). */
export const CONFIG: Record<"apiKey" | "baseUrl" | "apiVersion", Property> = {
  apiKey: str(
    "Gemini API key. Set it with `pulumi config set --secret gemini:apiKey`, or leave it unset: the provider then reads GEMINI_API_KEY, then GOOGLE_API_KEY, from its environment (and nothing is stored).",
    { secret: true },
  ),
  baseUrl: str(`API origin, default ${DEFAULT_BASE_URL} (env GOOGLE_GEMINI_BASE_URL, then GEMINI_BASE_URL). Point it at the local emulator for offline work.`),
  apiVersion: str(`API version: v1beta (default ${DEFAULT_API_VERSION}) or v1.`),
};

/** Every output of a resource: its inputs (as outputs), overridden or extended by `outputs`. */
export function outputsOf(decl: ResourceDeclaration): Record<string, Property> {
  const inputs = Object.fromEntries(Object.entries(decl.inputs).map(([name, { type, items, description, ts, secret, default: d }]) => [name, { type, items, description, ts, secret, default: d }]));
  return { ...inputs, ...decl.outputs };
}

/** The outputs always encrypted (secret), by name. */
export function secretOutputs(decl: ResourceDeclaration): string[] {
  return Object.entries(outputsOf(decl))
    .filter(([, p]) => p.secret)
    .map(([name]) => name);
}

/** The inputs whose new value replaces the resource. */
export function replacingInputs(decl: ResourceDeclaration): string[] {
  return Object.entries(decl.inputs)
    .filter(([, p]) => p.replaces)
    .map(([name]) => name);
}
