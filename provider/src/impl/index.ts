/**
 * The provider implementation, loaded by the serialized shim (../shim.ts) inside the provider
 * process at call time. Never imported by a Pulumi program directly.
 */
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { configure } from "./context";
import * as rotation from "./rotation-provider";
import * as webhook from "./webhook-provider";

function provider(ops: {
  check: dynamic.ResourceProvider["check"];
  diff: dynamic.ResourceProvider["diff"];
  create: dynamic.ResourceProvider["create"];
  read: dynamic.ResourceProvider["read"];
  update: dynamic.ResourceProvider["update"];
  delete: dynamic.ResourceProvider["delete"];
}): Required<Omit<dynamic.ResourceProvider, "configure">> {
  return ops as Required<Omit<dynamic.ResourceProvider, "configure">>;
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
