/** The serialized provider of `Webhook`: the module itself is the provider (see shim.ts). */
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { dispatch } from "./shim";

const webhookShim: dynamic.ResourceProvider = {
  configure: async (r) => dispatch("webhookProvider", "configure", [r]),
  check: (...a) => dispatch("webhookProvider", "check", a),
  diff: (...a) => dispatch("webhookProvider", "diff", a),
  create: (...a) => dispatch("webhookProvider", "create", a),
  read: (...a) => dispatch("webhookProvider", "read", a),
  update: (...a) => dispatch("webhookProvider", "update", a),
  delete: (...a) => dispatch("webhookProvider", "delete", a),
};
export = webhookShim;
