/** The plugin's functions (`fn::invoke` in YAML, `getCurrentSigningSecrets` in the SDKs). */
import { GET_WEBHOOK, GET_WEBHOOKS, TYPES, WEBHOOK_INFO } from "../declarations";
import type { WebhookInfo } from "../generated/resources";
import { apiClient } from "../impl/context";
import { findWebhooks, lookupWebhook } from "../impl/lookups";
import { secretsToAccept } from "../secret-window";
import type { Failure } from "./provider-config";
import { GET_CURRENT_SIGNING_SECRETS } from "./schema";
import { Props, secret, wrapProps } from "./secret-values";

const optionalString = (args: Props, key: string, failures: Failure[]): string | undefined => {
  const value = args[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  failures.push({ property: key, reason: `${key} must be a string` });
  return undefined;
};

/** The fields of WebhookInfo declared secret (its uri): wrapped in every lookup result. */
const INFO_SECRETS = Object.entries(TYPES[WEBHOOK_INFO].properties).filter(([, p]) => p.secret).map(([name]) => name);

function info(webhook: WebhookInfo): Props {
  return wrapProps({ ...webhook }, INFO_SECRETS);
}

/**
 * Runs a function. A lookup's results are secret as a whole when any argument arrived secret (what
 * was found by a secret says something of it), and its declared secret fields (uri) always are.
 */
export async function invokeFunction(token: string, args: Props, secretArgs = false): Promise<{ outputs: Props; failures: Failure[] }> {
  const lookup = await invokeLookup(token, args);
  if (!lookup) return invokeSecretsFunction(token, args);
  if (!secretArgs || lookup.failures.length) return lookup;
  return { outputs: wrapProps(lookup.outputs, Object.keys(lookup.outputs)), failures: [] };
}

async function invokeLookup(token: string, args: Props): Promise<{ outputs: Props; failures: Failure[] } | undefined> {
  if (token === GET_WEBHOOK.token) {
    if (typeof args.id !== "string" || args.id === "") return { outputs: {}, failures: [{ property: "id", reason: "id must be the webhook's id (a string)" }] };
    return { outputs: info(await lookupWebhook(apiClient(), args.id)), failures: [] };
  }
  if (token === GET_WEBHOOKS.token) {
    const failures: Failure[] = [];
    const name = optionalString(args, "name", failures);
    const uri = optionalString(args, "uri", failures);
    if (failures.length) return { outputs: {}, failures };
    const found = await findWebhooks(apiClient(), { ...(name !== undefined ? { name } : {}), ...(uri !== undefined ? { uri } : {}) });
    return { outputs: { webhooks: found.map(info) }, failures };
  }
  return undefined;
}

async function invokeSecretsFunction(token: string, args: Props): Promise<{ outputs: Props; failures: Failure[] }> {
  if (token !== GET_CURRENT_SIGNING_SECRETS) {
    throw new Error(`unknown function ${JSON.stringify(token)}; the gemini provider has ${[GET_CURRENT_SIGNING_SECRETS, GET_WEBHOOK.token, GET_WEBHOOKS.token].join(", ")}`);
  }
  const failures: Failure[] = [];
  const original = optionalString(args, "signingSecret", failures);
  const newest = optionalString(args, "rotationSecret", failures);
  const previousSecretsExpireAt = optionalString(args, "previousSecretsExpireAt", failures);
  const at = optionalString(args, "at", failures);
  if (previousSecretsExpireAt !== undefined && Number.isNaN(Date.parse(previousSecretsExpireAt))) {
    failures.push({ property: "previousSecretsExpireAt", reason: "previousSecretsExpireAt must be an RFC 3339 time" });
  }
  if (at !== undefined && Number.isNaN(Date.parse(at))) failures.push({ property: "at", reason: "at must be an RFC 3339 time" });
  if (!original && !newest) failures.push({ property: "signingSecret", reason: "give signingSecret, rotationSecret or both" });
  if (failures.length) return { outputs: {}, failures };
  const secrets = secretsToAccept({ original, newest, previousSecretsExpireAt, now: at ? Date.parse(at) : Date.now() });
  // Secret whatever the arguments were: these are signing secrets.
  return { outputs: { secrets: secret(secrets), env: secret(secrets.join(" ")) }, failures };
}
