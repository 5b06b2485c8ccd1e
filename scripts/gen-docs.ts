/**
 * The generated part of docs/reference.md — every resource, function and config key
 * of the plugin's schema, property by property, with its type, whether it is required, whether it is
 * secret, and its description. The schema is the source; `test/provider/one-declaration.test.ts` keeps
 * the page equal to what this prints.
 */
import { join } from "node:path";
import { schema } from "pulumi-gemini-webhooks/plugin/schema";
import { REPO_ROOT } from "./paths";

interface Property {
  type?: string;
  items?: { type?: string; $ref?: string };
  $ref?: string;
  description?: string;
  secret?: boolean;
  default?: unknown;
}

export const REFERENCE_FILE = join(REPO_ROOT, "docs", "reference.md");
const BEGIN = "<!-- reference: generated from provider/src/plugin/schema.ts by `npm run generate` -->";
const END = "<!-- /reference -->";

function typeOf(p: Property): string {
  const name = (ref: string) => ref.split(":").pop()!;
  if (p.$ref) return name(p.$ref);
  if (p.type === "array") return `${p.items?.$ref ? name(p.items.$ref) : p.items?.type}[]`;
  return p.type ?? "object";
}

function table(properties: Record<string, Property>, required: readonly string[] = []): string {
  const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");
  const rows = Object.entries(properties).map(
    ([name, p]) => `| \`${name}\` | ${typeOf(p)} | ${required.includes(name) ? "yes" : ""} | ${p.secret ? "**secret**" : ""} | ${cell(p.description ?? "")}${p.default !== undefined ? ` Default \`${String(p.default)}\`.` : ""} |`,
  );
  return ["| property | type | required | secret | description |", "|---|---|---|---|---|", ...rows].join("\n");
}

export function referenceMarkdown(): string {
  const out: string[] = [BEGIN, "", "## Generated from the schema", ""];
  for (const [token, r] of Object.entries(schema.resources) as [string, { description: string; inputProperties: Record<string, Property>; requiredInputs: string[]; properties: Record<string, Property>; required: string[] }][]) {
    out.push(`### \`${token}\``, "", r.description, "", "Inputs:", "", table(r.inputProperties, r.requiredInputs), "", "Outputs:", "", table(r.properties, r.required), "");
  }
  for (const [token, f] of Object.entries(schema.functions) as [string, { description: string; inputs: { properties: Record<string, Property> }; outputs: { properties: Record<string, Property>; required: string[] } }][]) {
    out.push(`### \`${token}\` (function)`, "", f.description, "", "Arguments:", "", table(f.inputs.properties), "", "Results:", "", table(f.outputs.properties, f.outputs.required), "");
  }
  out.push("### Provider configuration (`gemini:`)", "", table(schema.config.variables as Record<string, Property>), "", END);
  return out.join("\n");
}

/** docs/reference.md with its generated block replaced by `referenceMarkdown()`. */
export function referencePage(current: string): string {
  const start = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  const head = start < 0 ? current.trimEnd() + "\n\n" : current.slice(0, start);
  const tail = end < 0 ? "\n" : current.slice(end + END.length);
  return head + referenceMarkdown() + tail;
}
