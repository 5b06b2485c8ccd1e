/**
 * The Pulumi package schema of the `gemini` plugin: what YAML resolves types against and what
 * `pulumi package gen-sdk` generates SDKs from. Names match the dynamic resources' inputs and outputs.
 */
import { DEFAULT_API_VERSION, DEFAULT_BASE_URL, EVENT_TYPES, REVOCATION_BEHAVIORS } from "gemini-webhooks-client";

export const PACKAGE = "gemini";

/** The project's public home, from this package's package.json: where releases, the SDKs and the docs live. */
const REPOSITORY: string = (require("../../package.json") as { repository: { url: string } }).repository.url.replace(/^git\+/, "").replace(/\.git$/, "");
/** Where `pulumi` downloads the plugin from: the GitHub release assets `pulumi-resource-gemini-v<version>-<os>-<arch>.tar.gz`. */
export const PLUGIN_DOWNLOAD_URL = `github://api.github.com/${new URL(REPOSITORY).pathname.slice(1)}`;
/** The Go SDK's module, as `go get` takes it (the release commits it under sdk/go and tags sdk/go/v<version>). */
export const GO_MODULE = `${new URL(REPOSITORY).host}${new URL(REPOSITORY).pathname}/sdk/go`;
export const WEBHOOK = "gemini:index:Webhook";
export const SECRET_ROTATION = "gemini:index:SecretRotation";
export const GET_CURRENT_SIGNING_SECRETS = "gemini:index:getCurrentSigningSecrets";

const str = (description: string, extra: Record<string, unknown> = {}) => ({ type: "string", description, ...extra });
const events = `Valid events: ${EVENT_TYPES.join(", ")}.`;

const config = {
  apiKey: str(
    "Gemini API key. Set it with `pulumi config set --secret gemini:apiKey`, or leave it unset: the provider then reads GEMINI_API_KEY, then GOOGLE_API_KEY, from its environment (and nothing is stored).",
    { secret: true },
  ),
  baseUrl: str(
    `API origin, default ${DEFAULT_BASE_URL} (env GOOGLE_GEMINI_BASE_URL, then GEMINI_BASE_URL). Point it at the local emulator for offline work.`,
  ),
  apiVersion: str(`API version: v1beta (default ${DEFAULT_API_VERSION}) or v1.`),
};

const webhookInputs = {
  uri: str("Where deliveries are POSTed: an absolute http(s) URL. Updates in place."),
  subscribedEvents: {
    type: "array",
    items: { type: "string" },
    description: `Events to deliver (any order, any case; duplicates ignored). Updates in place. ${events}`,
  },
  name: str("Display name in the API. Updates in place."),
  state: str("`enabled` or `disabled`; omit to leave the live state alone. Updates in place."),
  adoptExisting: {
    type: "boolean",
    description:
      "On create, adopt a webhook with the same name and uri instead of creating a duplicate; adoption rotates the secret once (24 h grace). With the plugin, `pulumi import` is the better way in.",
  },
};

const rotationInputs = {
  webhookId: str("The webhook to rotate (a Webhook's id). A new value replaces this resource, which rotates again."),
  rotationKey: str(
    "Any string, e.g. a config value such as `2026-12`. A new value replaces this resource (create before delete): that is a rotation.",
  ),
  revocationBehavior: str(
    `${REVOCATION_BEHAVIORS.join(" (default) or ")}: whether the secrets this rotation replaces keep working for 24 h. Upper-case spellings are accepted.`,
    { default: "revoke_previous_secrets_after_h24" },
  ),
};

export const schema = {
  name: PACKAGE,
  displayName: "Gemini API webhooks",
  description: "Gemini API webhooks and their signing secrets: encrypted secrets, rotation with a 24 h grace window, drift detection, import.",
  keywords: ["pulumi", "gemini", "webhooks", "standard-webhooks", "category/utility"],
  license: "Apache-2.0",
  publisher: "gemini-webhooks",
  homepage: REPOSITORY,
  repository: REPOSITORY,
  pluginDownloadURL: PLUGIN_DOWNLOAD_URL,
  // Generated SDKs carry their own package metadata (go.mod, pyproject.toml, package.json).
  meta: { supportPack: true },
  config: { variables: config },
  provider: {
    description: "The gemini provider: which API (origin and version) and which key.",
    inputProperties: config,
    properties: { baseUrl: config.baseUrl, apiVersion: config.apiVersion },
  },
  types: {
    "gemini:index:SigningSecretInfo": {
      type: "object",
      description: "A currently valid signing secret as the API lists it: truncated, never the whole secret.",
      properties: {
        truncatedSecret: str("The secret's first and last characters, e.g. `whsec_ab…yz`."),
        expireTime: str("When the secret stops working (RFC 3339); absent for the newest secret."),
      },
      required: ["truncatedSecret"],
    },
  },
  resources: {
    [WEBHOOK]: {
      description:
        "A Gemini API webhook. Its signing secret is returned once, at create, and kept encrypted in state. Nothing replaces a webhook: every input updates in place. `pulumi import gemini:index:Webhook <name> <id>` adopts a live webhook with its inputs read back; the API never returns a secret, so an imported webhook holds none until a SecretRotation rotates it.",
      inputProperties: webhookInputs,
      requiredInputs: ["uri", "subscribedEvents"],
      properties: {
        ...webhookInputs,
        state: str("The live state: `enabled`, `disabled` or `disabled_due_to_failed_deliveries`."),
        desiredState: str("The state the program asked for, or absent when the program leaves it alone."),
        signingSecret: str(
          "The secret returned when the webhook was created (or adopted). Absent after `pulumi import`: rotate with a SecretRotation to obtain one.",
          { secret: true },
        ),
        signingSecrets: {
          type: "array",
          items: { $ref: "#/types/gemini:index:SigningSecretInfo" },
          description: "The currently valid secrets as the API lists them (truncated), newest first.",
        },
        createTime: str("When the webhook was created (RFC 3339)."),
        updateTime: str("When the webhook was last changed (RFC 3339)."),
      },
      required: ["uri", "subscribedEvents", "name", "state", "adoptExisting", "signingSecrets"],
    },
    [SECRET_ROTATION]: {
      description:
        "Rotates a webhook's signing secret once, when created. Change `rotationKey` to rotate again; receivers keep accepting the previous secret for 24 h (by default). Deleting it makes no API call: a rotation cannot be undone.",
      inputProperties: rotationInputs,
      requiredInputs: ["webhookId", "rotationKey"],
      properties: {
        ...rotationInputs,
        secret: str("The new signing secret.", { secret: true }),
        rotatedAt: str("When the rotation happened (RFC 3339)."),
        previousSecretsExpireAt: str("When the secrets this rotation replaced stop working; absent with immediate revocation."),
        superseded: { type: "boolean", description: "True once a later rotation (by anyone) made this secret no longer the newest; seen on refresh." },
      },
      required: ["webhookId", "rotationKey", "revocationBehavior", "secret", "rotatedAt", "superseded"],
    },
  },
  functions: {
    [GET_CURRENT_SIGNING_SECRETS]: {
      description:
        "Every secret a receiver must accept now, newest first: the rotation's secret, plus the webhook's creation secret while the rotation's grace window lasts. Computed from the values given; no API call.",
      inputs: {
        properties: {
          signingSecret: str("The Webhook's `signingSecret`.", { secret: true }),
          rotationSecret: str("The SecretRotation's `secret`, if the webhook has one.", { secret: true }),
          previousSecretsExpireAt: str("The SecretRotation's `previousSecretsExpireAt`."),
          at: str("The moment to evaluate the grace window at (RFC 3339); default: now."),
        },
      },
      outputs: {
        properties: {
          secrets: { type: "array", items: { type: "string" }, description: "The secrets, newest first.", secret: true },
          env: str("The same list joined by spaces, for the receiver's WEBHOOK_SIGNING_SECRETS.", { secret: true }),
        },
        required: ["secrets", "env"],
      },
    },
  },
  language: {
    nodejs: { packageName: "@gemini-webhooks/pulumi-gemini", packageDescription: "Gemini API webhooks as code (the gemini plugin's SDK)." },
    python: { packageName: "pulumi_gemini", pyproject: { enabled: true } },
    go: { importBasePath: `${GO_MODULE}/gemini`, generateResourceContainerTypes: true },
    csharp: { rootNamespace: "GeminiWebhooks", packageReferences: { Pulumi: "3.*" } },
  },
};

/** The schema as the engine asks for it, with the plugin's version. */
export function schemaJson(version: string): string {
  return JSON.stringify({ ...schema, version });
}
