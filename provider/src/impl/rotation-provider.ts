/**
 * The `SecretRotation` resource's provider. Creating one rotates the webhook's signing secret once;
 * a new `rotationKey` or `webhookId` replaces it (create-before-delete), which rotates again.
 * A rotation cannot be undone, so delete makes no API call.
 */
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { GeminiApiError } from "gemini-webhooks-client";
import { RevocationBehavior, ROTATION_GRACE_MS } from "gemini-webhooks-client";
import { truncatedMatches } from "gemini-webhooks-client";
import { replacingInputs, SECRET_ROTATION } from "../declarations";
import { checkInputs } from "./check";
import { apiClient, info, warn } from "./context";
import { dueAt, dueSoon, humanDelay } from "./rotation-schedule";
import { isUnknown } from "./unknown";

export interface RotationInputs {
  webhookId: string;
  rotationKey: string;
  revocationBehavior: RevocationBehavior;
  rotateAfter?: string;
}

export interface RotationOutputs extends RotationInputs {
  secret: string;
  rotatedAt: string;
  /** End of the grace window of the secrets this rotation replaced; null with immediate revocation. */
  previousSecretsExpireAt: string | null;
  /** True once a later rotation (by anyone) made this one's secret no longer the newest. */
  superseded: boolean;
  /** When rotateAfter makes the next rotation due; null without rotateAfter. */
  rotationDueAt?: string | null;
}

export async function check(_olds: unknown, news: Record<string, unknown>): Promise<dynamic.CheckResult> {
  return checkInputs(SECRET_ROTATION, news);
}

/**
 * Whether this preview/up rotates because `rotateAfter` says the last rotation is old enough — and,
 * either way, saying when the next one is due. Only the provider decides, from state: no clock in the
 * program, so nothing churns and a no-op `up` before the due time changes nothing.
 */
function scheduledRotation(id: string, olds: RotationOutputs, news: RotationInputs): boolean {
  if (!news.rotateAfter || isUnknown(news.rotateAfter) || !olds.rotatedAt) return false;
  const due = dueAt(olds.rotatedAt, news.rotateAfter)!;
  const now = Date.now();
  const name = `gemini:SecretRotation ${id}`;
  if (now >= Date.parse(due)) {
    const changed = (olds.rotateAfter ?? null) !== news.rotateAfter ? ` (rotateAfter is now ${news.rotateAfter}${olds.rotateAfter ? `, was ${olds.rotateAfter}` : ""}: that period has already elapsed)` : "";
    warn(`${name}: rotation due — last rotated ${olds.rotatedAt}, rotateAfter ${news.rotateAfter}${changed}. This update rotates the signing secret of webhook ${olds.webhookId} once; the previous secret keeps working for the grace window.`);
    return true;
  }
  const left = humanDelay(Date.parse(due) - now);
  if (dueSoon(due, news.rotateAfter, now)) warn(`rotation-due: ${name}: the next rotation of webhook ${olds.webhookId} is due at ${due} (in ${left}); the first \`pulumi up\` after that rotates.`);
  else info(`${name}: next rotation due at ${due} (in ${left}).`);
  return false;
}

export async function diff(id: string, olds: RotationOutputs & { __provider?: string }, news: RotationInputs & { __provider?: string }): Promise<dynamic.DiffResult> {
  const replaces: string[] = (replacingInputs(SECRET_ROTATION) as (keyof RotationInputs)[]).filter((k) => isUnknown(news[k]) || news[k] !== olds[k]);
  if (scheduledRotation(id, olds, news) && replaces.length === 0) replaces.push("rotateAfter");
  const changes =
    replaces.length > 0 ||
    news.revocationBehavior !== olds.revocationBehavior ||
    (news.rotateAfter ?? null) !== (olds.rotateAfter ?? null) ||
    olds.__provider !== news.__provider;
  // Create-before-delete: the new secret exists before anything about the old one changes.
  return { changes, replaces, deleteBeforeReplace: false };
}

export async function create(inputs: RotationInputs): Promise<dynamic.CreateResult> {
  const { secret } = await apiClient().rotateSigningSecret(inputs.webhookId, inputs.revocationBehavior);
  const now = Date.now();
  const immediate = inputs.revocationBehavior === "revoke_previous_secrets_immediately";
  const outs: RotationOutputs = {
    webhookId: inputs.webhookId,
    rotationKey: inputs.rotationKey,
    revocationBehavior: inputs.revocationBehavior,
    secret,
    rotatedAt: new Date(now).toISOString(),
    previousSecretsExpireAt: immediate ? null : new Date(now + ROTATION_GRACE_MS).toISOString(),
    superseded: false,
    ...(inputs.rotateAfter ? { rotateAfter: inputs.rotateAfter } : {}),
    rotationDueAt: dueAt(new Date(now).toISOString(), inputs.rotateAfter),
  };
  return { id: `${inputs.webhookId}/rotation/${now}`, outs };
}

/** Only `revocationBehavior` (it applies to the next rotation), a `rotateAfter` not yet due, or the provider code changed. */
export async function update(_id: string, olds: RotationOutputs, news: RotationInputs): Promise<dynamic.UpdateResult> {
  const { rotateAfter: _previous, ...rest } = olds;
  return {
    outs: {
      ...rest,
      revocationBehavior: news.revocationBehavior,
      ...(news.rotateAfter ? { rotateAfter: news.rotateAfter } : {}),
      rotationDueAt: dueAt(olds.rotatedAt, news.rotateAfter),
    },
  };
}

export async function read(id: string, props: RotationOutputs): Promise<dynamic.ReadResult> {
  if (props.webhookId === undefined) {
    // `pulumi import` passes only the id, and no API call can return a past rotation's secret.
    throw new Error(
      `gemini:SecretRotation ${id} cannot be imported: the API never returns a signing secret. ` +
        "Import the Webhook, then add a SecretRotation for it: creating one rotates and brings a fresh secret under management.",
    );
  }
  let secrets: { truncated_secret: string; expire_time?: string }[];
  try {
    secrets = (await apiClient().get(props.webhookId)).signing_secrets ?? [];
  } catch (err) {
    // The webhook is gone, and its rotations with it.
    if (err instanceof GeminiApiError && err.isNotFound) return {};
    throw err;
  }
  const newest = secrets.find((s) => s.expire_time === undefined) ?? secrets[0];
  const superseded = !newest || !truncatedMatches(newest.truncated_secret, props.secret);
  if (superseded && !props.superseded) {
    warn(
      `gemini:SecretRotation ${id}: a later rotation of webhook ${props.webhookId} superseded this one; ` +
        `its secret ${secrets.some((s) => truncatedMatches(s.truncated_secret, props.secret)) ? "expires at the end of the grace window" : "is no longer valid"}. ` +
        `Change rotationKey and run \`pulumi up\` to bring a current secret under management.`,
    );
  }
  const { webhookId, rotationKey, revocationBehavior, rotateAfter } = props;
  return { id, props: { ...props, superseded }, inputs: { webhookId, rotationKey, revocationBehavior, ...(rotateAfter ? { rotateAfter } : {}) } };
}
