/**
 * Turns the wire schema's verdict on a request body into the real API's 400 INVALID_ARGUMENT
 * messages, each naming the offending field and, where it helps, the right spelling.
 */
import type { z } from "zod";
import { EVENT_TYPES, REVOCATION_BEHAVIORS, WEBHOOK_STATES } from "gemini-webhooks-client/schema";
import { invalidArgument } from "./google-error";

const ENUMS: Record<string, readonly string[]> = {
  subscribed_events: EVENT_TYPES,
  state: WEBHOOK_STATES,
  revocation_behavior: REVOCATION_BEHAVIORS,
};

export function toSnakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/-/g, "_").toLowerCase();
}

function valueAt(body: unknown, path: PropertyKey[]): unknown {
  let current = body;
  for (const key of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

function fieldPath(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === "number" ? `[${p}]` : (i ? "." : "") + String(p))).join("");
}

function describeIssue(issue: z.core.$ZodIssue, body: unknown, knownFields: readonly string[]): string {
  const field = fieldPath(issue.path);
  const value = valueAt(body, issue.path);
  const topField = String(issue.path[0] ?? "");
  if (issue.code === "unrecognized_keys") {
    return issue.keys
      .map((key) => {
        const snake = toSnakeCase(key);
        const hint = snake !== key && knownFields.includes(snake) ? `Did you mean "${snake}"?` : "Cannot find field.";
        return `Invalid JSON payload received. Unknown name "${key}": ${hint}`;
      })
      .join(" ");
  }
  if (value === undefined) {
    return `Field '${field}' is required.` + (ENUMS[topField] ? ` Valid values: ${ENUMS[topField].join(", ")}.` : "");
  }
  const allowed = ENUMS[topField];
  if (allowed && typeof value === "string") {
    const lower = value.toLowerCase();
    const hint = allowed.includes(lower) ? ` Did you mean "${lower}"? Enum values are lower case.` : "";
    return `Invalid value at '${field}' (${JSON.stringify(value)}).${hint} Valid values: ${allowed.join(", ")}.`;
  }
  if (issue.code === "too_small" && Array.isArray(value)) {
    return `Invalid value at '${field}': ${issue.message}` + (allowed ? ` of: ${allowed.join(", ")}.` : ".");
  }
  if (issue.code === "invalid_type") {
    return `Invalid value at '${field}' (${JSON.stringify(value)}): expected ${issue.expected}.`;
  }
  return `Invalid value at '${field}' (${JSON.stringify(value)}): ${issue.message}.`;
}

/** Parses a request body with an exact schema or throws a 400 naming every bad field. */
export function parseRequestBody<S extends z.ZodType>(schema: S, body: unknown, knownFields: readonly string[]): z.infer<S> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw invalidArgument("Invalid JSON payload received. The request body must be a JSON object.");
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issues = [...result.error.issues].sort(
    (a, b) => Number(b.code === "unrecognized_keys") - Number(a.code === "unrecognized_keys"),
  );
  const messages = [...new Set(issues.map((issue) => describeIssue(issue, body, knownFields)))];
  throw invalidArgument(messages.join(" "));
}

/** The field names an exact object schema accepts, for "Did you mean" hints. */
export function knownFieldsOf(schema: { shape: Record<string, unknown> }): string[] {
  return Object.keys(schema.shape);
}
