/**
 * The providers that Pulumi serializes into state (`__provider`). They hold no client, no schema
 * and no credential: each method requires the implementation (./impl) at call time. That keeps
 * `__provider` small (it is stored twice per resource) and keeps secrets and native handles out.
 *
 * Resolution in the provider process: the installed package first (portable state), then the
 * absolute path of the build that serialized it (this repository's own tests and demo).
 */
import type * as dynamic from "@pulumi/pulumi/dynamic";

type Kind = "webhookProvider" | "rotationProvider";
const B = require.resolve("./impl");

/** Calls `method` of the implementation's `kind` provider (`configure` is shared). */
function D(kind: Kind, method: string, args: unknown[]): Promise<never> {
  let impl;
  try {
    impl = require("pulumi-gemini-webhooks/dist/provider/impl");
  } catch (first) {
    try {
      impl = require(B);
    } catch {
      throw first;
    }
  }
  return method === "configure" ? impl.configure((args[0] as dynamic.ConfigureRequest).config) : impl[kind][method](...args);
}

export const webhookShim: dynamic.ResourceProvider = {
  configure: async (r) => D("webhookProvider", "configure", [r]),
  check: (...a) => D("webhookProvider", "check", a),
  diff: (...a) => D("webhookProvider", "diff", a),
  create: (...a) => D("webhookProvider", "create", a),
  read: (...a) => D("webhookProvider", "read", a),
  update: (...a) => D("webhookProvider", "update", a),
  delete: (...a) => D("webhookProvider", "delete", a),
};

export const rotationShim: dynamic.ResourceProvider = {
  configure: async (r) => D("rotationProvider", "configure", [r]),
  check: (...a) => D("rotationProvider", "check", a),
  diff: (...a) => D("rotationProvider", "diff", a),
  create: (...a) => D("rotationProvider", "create", a),
  read: (...a) => D("rotationProvider", "read", a),
  update: (...a) => D("rotationProvider", "update", a),
  delete: (...a) => D("rotationProvider", "delete", a),
};
