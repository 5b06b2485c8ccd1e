/**
 * What Pulumi serializes into state (`__provider`) calls into this dispatcher, which requires the
 * implementation (./impl) at call time: no client, no schema and no credential is ever captured.
 *
 * Installed from npm, the per-resource shims (webhook-shim.ts, rotation-shim.ts) are whole modules
 * under node_modules, so Pulumi's serializer stores them by reference — `__provider` is a single
 * `require("pulumi-gemini-webhooks/…")` — and state stays small and portable. Run from a source
 * checkout they are stored by value, and the implementation is found by the build's absolute path.
 */
import type * as dynamic from "@pulumi/pulumi/dynamic";

export type Kind = "webhookProvider" | "rotationProvider";
const BUILD_IMPL = require.resolve("./impl");

/** Calls `method` of the implementation's `kind` provider (`configure` is shared). */
export function dispatch(kind: Kind, method: string, args: unknown[]): Promise<never> {
  let impl;
  try {
    impl = require("pulumi-gemini-webhooks/impl");
  } catch (first) {
    try {
      impl = require(BUILD_IMPL);
    } catch {
      throw first;
    }
  }
  return method === "configure" ? impl.configure((args[0] as dynamic.ConfigureRequest).config) : impl[kind][method](...args);
}

/** The provider object for one resource kind: every method forwards to `dispatch`. */
export function shimFor(kind: Kind): dynamic.ResourceProvider {
  return {
    configure: async (r) => dispatch(kind, "configure", [r]),
    check: (...a) => dispatch(kind, "check", a),
    diff: (...a) => dispatch(kind, "diff", a),
    create: (...a) => dispatch(kind, "create", a),
    read: (...a) => dispatch(kind, "read", a),
    update: (...a) => dispatch(kind, "update", a),
    delete: (...a) => dispatch(kind, "delete", a),
  };
}
