/**
 * The `Webhook` resource's provider. Nothing on a webhook forces a replacement: a replacement would
 * mint a new signing secret behind the user's back, so every input updates in place.
 */
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { GeminiApiError } from "gemini-webhooks-client";
import { EVENT_TYPES, EventType, UpdateWebhookRequest, Webhook } from "gemini-webhooks-client";
import { WEBHOOK } from "../declarations";
import { checkInputs } from "./check";
import { truncatedMatches } from "gemini-webhooks-client";
import { apiClient, warn } from "./context";
import { isUnknown, sameJson } from "./unknown";

/** Checked inputs, as stored by the engine. */
export interface WebhookInputs {
  uri: string;
  subscribedEvents: EventType[];
  name?: string;
  state?: "enabled" | "disabled";
  adoptExisting?: boolean;
}

/** Outputs, as stored in state. `signingSecret` is encrypted (additionalSecretOutputs). */
export interface WebhookOutputs {
  uri: string;
  subscribedEvents: string[];
  name: string;
  state: string;
  /** The state the program asked for, or null when the program leaves it alone. */
  desiredState: "enabled" | "disabled" | null;
  adoptExisting: boolean;
  signingSecret: string | null;
  signingSecrets: { truncatedSecret: string; expireTime: string | null }[];
  createTime: string | null;
  updateTime: string | null;
}

function checkEvents(events: string[]): { events: string[]; failures: dynamic.CheckFailure[] } {
  const failures: dynamic.CheckFailure[] = [];
  const normalised = new Set<string>();
  for (const raw of events) {
    if (isUnknown(raw)) {
      normalised.add(raw);
      continue;
    }
    const event = raw.toLowerCase();
    if ((EVENT_TYPES as readonly string[]).includes(event)) {
      normalised.add(event);
    } else {
      const note = event.endsWith(".cancelled") ? " (the guide lists it, but the API does not accept it)" : "";
      failures.push({
        property: "subscribedEvents",
        reason: `unknown event ${JSON.stringify(raw)}${note}; valid events: ${EVENT_TYPES.join(", ")}`,
      });
    }
  }
  // Sorted and deduplicated, so reordering the list in the program is no diff.
  return { events: [...normalised].sort(), failures };
}

export async function check(_olds: unknown, news: Record<string, unknown>): Promise<dynamic.CheckResult> {
  const { inputs, failures } = checkInputs(WEBHOOK, news);
  if (Array.isArray(inputs.subscribedEvents) && failures.every((f) => f.property !== "subscribedEvents")) {
    const { events, failures: eventFailures } = checkEvents(inputs.subscribedEvents as string[]);
    inputs.subscribedEvents = events;
    failures.push(...eventFailures);
  }
  return { inputs, failures };
}

export function toOutputs(webhook: Webhook, inputs: WebhookInputs, signingSecret: string | null): WebhookOutputs {
  return {
    uri: webhook.uri,
    subscribedEvents: [...webhook.subscribed_events].sort(),
    name: webhook.name ?? "",
    state: webhook.state ?? "enabled",
    desiredState: inputs.state ?? null,
    adoptExisting: inputs.adoptExisting ?? false,
    signingSecret,
    signingSecrets: (webhook.signing_secrets ?? []).map((s) => ({
      truncatedSecret: s.truncated_secret,
      expireTime: s.expire_time ?? null,
    })),
    createTime: webhook.create_time ?? null,
    updateTime: webhook.update_time ?? null,
  };
}

/** The PATCH that takes the live webhook (`olds`) to the program's inputs; empty when nothing differs. */
function patchFor(olds: WebhookOutputs, news: WebhookInputs): UpdateWebhookRequest {
  const patch: UpdateWebhookRequest = {};
  if (news.uri !== olds.uri) patch.uri = news.uri;
  if (!sameJson(news.subscribedEvents, [...olds.subscribedEvents].sort())) patch.subscribed_events = news.subscribedEvents;
  if ((news.name ?? "") !== olds.name) patch.name = news.name ?? "";
  if (news.state !== undefined && news.state !== olds.state) patch.state = news.state;
  return patch;
}

const FAILED = "disabled_due_to_failed_deliveries";

/**
 * A webhook Google disabled after failed deliveries receives nothing: never silently. Declared
 * `enabled`, the update re-enables it (one call) and says why; with `state` omitted, every preview
 * and up says so, with the one-line fix.
 */
function failedDeliveriesNotice(id: string, olds: WebhookOutputs, news: WebhookInputs): void {
  if (olds.state !== FAILED || isUnknown(news.state)) return;
  const cause = `Google disabled it (${FAILED}) after deliveries to ${olds.uri} kept failing`;
  if (news.state === "enabled") {
    warn(`gemini:Webhook ${id}: ${cause}; the program declares state "enabled", so this update re-enables it with one call. Make sure ${olds.uri} answers 2xx, or it will be disabled again.`);
  } else if (news.state === undefined) {
    warn(`gemini:Webhook ${id}: ${cause}, so it receives no events. Fix: make ${olds.uri} answer 2xx, then declare state: "enabled" and run \`pulumi up\`.`);
  }
}

export async function diff(id: string, olds: WebhookOutputs & { __provider?: string }, news: WebhookInputs & { __provider?: string }): Promise<dynamic.DiffResult> {
  failedDeliveriesNotice(id, olds, news);
  const unknown = ["uri", "subscribedEvents", "name", "state"].some((k) => isUnknown((news as unknown as Record<string, unknown>)[k]));
  const changed =
    unknown ||
    Object.keys(patchFor(olds, news)).length > 0 ||
    (news.state ?? null) !== (olds.desiredState ?? null) ||
    // A new provider version is persisted by a no-op update, so delete/refresh never run stale code.
    olds.__provider !== news.__provider;
  return { changes: changed, replaces: [], deleteBeforeReplace: false };
}

export async function create(inputs: WebhookInputs): Promise<dynamic.CreateResult> {
  const client = apiClient();
  if (inputs.adoptExisting) {
    const adopted = await adopt(inputs);
    if (adopted) return adopted;
  }
  let webhook = await client.create({
    ...(inputs.name !== undefined ? { name: inputs.name } : {}),
    uri: inputs.uri,
    subscribed_events: inputs.subscribedEvents,
  });
  const secret = webhook.new_signing_secret ?? null;
  if (inputs.state === "disabled") webhook = await client.update(webhook.id, { state: "disabled" });
  return { id: webhook.id, outs: toOutputs(webhook, inputs, secret) };
}

/**
 * Dynamic providers cannot `pulumi import` (pulumi#16175). Instead, a webhook with the same name and
 * uri is adopted; the API never returns an existing secret, so adoption rotates once with the 24 h
 * grace, and receivers holding the old secret keep working meanwhile.
 */
async function adopt(inputs: WebhookInputs): Promise<dynamic.CreateResult | undefined> {
  const client = apiClient();
  let found: Webhook | undefined;
  for await (const webhook of client.listAll()) {
    if (webhook.uri === inputs.uri && (webhook.name ?? "") === (inputs.name ?? "")) {
      found = webhook;
      break;
    }
  }
  if (!found) return undefined;
  const { secret } = await client.rotateSigningSecret(found.id, "revoke_previous_secrets_after_h24");
  const outs = toOutputs(found, inputs, secret);
  const patch = patchFor(outs, inputs);
  const live = Object.keys(patch).length > 0 ? await client.update(found.id, patch) : await client.get(found.id);
  warn(
    `gemini:Webhook adopted existing webhook ${found.id} (${inputs.uri}) and rotated its signing secret; ` +
      `the previous secret stays valid for 24 h.`,
  );
  return { id: found.id, outs: toOutputs(live, inputs, secret) };
}

export async function update(id: string, olds: WebhookOutputs, news: WebhookInputs): Promise<dynamic.UpdateResult> {
  const patch = patchFor(olds, news);
  if (Object.keys(patch).length === 0) {
    // Only the provider code or desiredState changed: no API call, full outputs carried forward.
    return { outs: { ...olds, desiredState: news.state ?? null, adoptExisting: news.adoptExisting ?? false } };
  }
  try {
    const webhook = await apiClient().update(id, patch);
    return { outs: toOutputs(webhook, news, olds.signingSecret) };
  } catch (err) {
    if (err instanceof GeminiApiError && err.isNotFound) {
      throw new Error(`Webhook ${id} no longer exists in the Gemini API. Run \`pulumi refresh\`, then \`pulumi up\` recreates it.`);
    }
    throw err;
  }
}

export async function remove(id: string): Promise<void> {
  try {
    await apiClient().delete(id);
  } catch (err) {
    if (err instanceof GeminiApiError && err.isNotFound) return; // already gone: the goal is reached
    throw err;
  }
}

export async function read(id: string, props: WebhookOutputs): Promise<dynamic.ReadResult> {
  let webhook: Webhook;
  try {
    webhook = await apiClient().get(id);
  } catch (err) {
    // Gone: an empty id drops it from state, and the next `up` recreates it.
    if (err instanceof GeminiApiError && err.isNotFound) return {};
    throw err;
  }
  const secret = props.signingSecret ?? null;
  if (Object.keys(props).length === 0) {
    // `pulumi import`: Read gets only the id.
    warn(
      `gemini:Webhook ${id} imported: the API never returns a signing secret, so this resource holds none (signingSecret is empty). ` +
        `To obtain one, add a SecretRotation with webhookId ${id} and run \`pulumi up\`; the current secret keeps working for 24 h.`,
    );
  }
  if (secret && !(webhook.signing_secrets ?? []).some((s) => truncatedMatches(s.truncated_secret, secret))) {
    warn(
      `gemini:Webhook ${id}: the signing secret in state is no longer valid (it was rotated or revoked outside ` +
        `this resource). If a SecretRotation manages it, use that resource's \`secret\` (or currentSigningSecrets()); ` +
        `otherwise add a SecretRotation (or change its rotationKey) and run \`pulumi up\` to obtain a fresh secret.`,
    );
  }
  if (webhook.state === FAILED && props.state !== FAILED) {
    warn(`gemini:Webhook ${id}: Google disabled it (${FAILED}) after deliveries to ${webhook.uri} kept failing; it receives no events until it is enabled again.`);
  }
  const desired: WebhookInputs = {
    uri: webhook.uri,
    subscribedEvents: [...webhook.subscribed_events].sort() as EventType[],
    ...(webhook.name ? { name: webhook.name } : {}),
    ...(props.desiredState ? { state: props.desiredState } : {}),
    ...(props.adoptExisting ? { adoptExisting: true } : {}),
  };
  const outs = toOutputs(webhook, { ...desired, state: props.desiredState ?? undefined }, secret);
  return { id, props: outs, inputs: desired };
}
