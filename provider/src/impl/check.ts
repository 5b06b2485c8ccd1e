/**
 * `check()` from a resource's declaration: each known input validated (and normalized) by its
 * declared validator, a missing required one named; unknown values (during preview) are left for
 * later. Resource-specific checks run after this, in each provider.
 */
import type * as dynamic from "@pulumi/pulumi/dynamic";
import type { z } from "zod";
import type { ResourceDeclaration } from "../declarations";
import { isUnknown } from "./unknown";

export function checkInputs(decl: ResourceDeclaration, news: Record<string, unknown>): { inputs: Record<string, unknown>; failures: dynamic.CheckFailure[] } {
  const failures: dynamic.CheckFailure[] = [];
  const inputs: Record<string, unknown> = { ...news };
  for (const [property, declared] of Object.entries(decl.inputs)) {
    const value = news[property];
    if (isUnknown(value)) continue;
    const parsed = (declared.validate as z.ZodType).safeParse(value);
    if (!parsed.success) {
      failures.push({ property, reason: value === undefined && declared.required ? "is required" : parsed.error.issues[0].message });
      continue;
    }
    if (parsed.data === undefined) delete inputs[property];
    else inputs[property] = parsed.data;
  }
  return { inputs, failures };
}
