/** What every dynamic resource class passes to Pulumi, derived from its declaration. */
import type * as pulumi from "@pulumi/pulumi";
import { outputsOf, ResourceDeclaration, secretOutputs } from "./declarations";

/**
 * The properties registered for a resource: every input as given (present even when omitted, so
 * optional inputs exist as outputs — pulumi#6587) and every output-only property as undefined.
 */
export function dynamicProps(decl: ResourceDeclaration, args: object): Record<string, unknown> {
  const given = args as Record<string, unknown>;
  const props: Record<string, unknown> = { ...given };
  for (const name of Object.keys(outputsOf(decl))) props[name] = name in decl.inputs ? given[name] : undefined;
  return props;
}

/** The caller's options, with the declaration's secret outputs always encrypted (callers cannot forget). */
export function withSecretOutputs(opts: pulumi.CustomResourceOptions | undefined, decl: ResourceDeclaration): pulumi.CustomResourceOptions {
  return { ...opts, additionalSecretOutputs: [...new Set([...(opts?.additionalSecretOutputs ?? []), ...secretOutputs(decl)])] };
}
