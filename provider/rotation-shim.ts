/** The serialized provider of `SecretRotation`: the module itself is the provider (see shim.ts). */
import type * as dynamic from "@pulumi/pulumi/dynamic";
import { dispatch } from "./shim";

const rotationShim: dynamic.ResourceProvider = {
  configure: async (r) => dispatch("rotationProvider", "configure", [r]),
  check: (...a) => dispatch("rotationProvider", "check", a),
  diff: (...a) => dispatch("rotationProvider", "diff", a),
  create: (...a) => dispatch("rotationProvider", "create", a),
  read: (...a) => dispatch("rotationProvider", "read", a),
  update: (...a) => dispatch("rotationProvider", "update", a),
  delete: (...a) => dispatch("rotationProvider", "delete", a),
};
export = rotationShim;
