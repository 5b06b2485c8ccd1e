/**
 * The provider implementation, loaded by the serialized shim (../shim.ts) inside the provider
 * process at call time. Never imported by a Pulumi program directly.
 */
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { GeminiApiError, GeminiConfigError } from "gemini-webhooks-client";
import { configure } from "./context";
import * as rotation from "./rotation-provider";
import * as webhook from "./webhook-provider";

type Ops = Required<Omit<dynamic.ResourceProvider, "configure">>;

/** A rejected key gets the fix that fits Pulumi's operations, not only the generic one. */
function explainAuth(err: unknown): never {
  if (err instanceof GeminiApiError && err.reason === "API_KEY_INVALID") {
    throw new GeminiConfigError(
      `${err.message} If the key was rotated: \`pulumi refresh\` and \`pulumi destroy\` use the key stored with the provider at the last \`pulumi up\`; ` +
        "set GEMINI_API_KEY to the current key for them (it is used when the stored key is rejected), or run `pulumi up` first.",
    );
  }
  throw err;
}

function provider(ops: Ops): Ops {
  const wrapped = {} as Record<string, unknown>;
  for (const [name, op] of Object.entries(ops)) {
    wrapped[name] = (...args: unknown[]) => Promise.resolve().then(() => (op as (...a: unknown[]) => unknown)(...args)).catch(explainAuth);
  }
  return wrapped as unknown as Ops;
}

export const webhookProvider = provider({
  check: webhook.check,
  diff: webhook.diff,
  create: webhook.create,
  read: webhook.read,
  update: webhook.update,
  delete: webhook.remove,
});

export const rotationProvider = provider({
  check: rotation.check,
  diff: rotation.diff,
  create: rotation.create,
  read: rotation.read,
  update: rotation.update,
  delete: async () => undefined, // a rotation cannot be undone
});

export { configure };
