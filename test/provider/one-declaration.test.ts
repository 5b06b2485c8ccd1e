/**
 * One source for each resource's shape: provider/src/declarations.ts. The package schema, the dynamic
 * resources' published `.d.ts` and docs/reference.md must list the same properties, with the same
 * descriptions and secret marks — and the schema changes only on purpose: it is compared field by field
 * with a snapshot (test/provider/fixtures/schema.json, first taken from the hand-written schema the
 * declarations replaced; update it in the same change as a declaration).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { schemaJson } from "pulumi-gemini-webhooks/plugin/schema";
import { GENERATED_RESOURCES, generatedResources } from "../../scripts/generate";
import { REFERENCE_FILE, referencePage } from "../../scripts/gen-docs";
import { REPO_ROOT } from "../../scripts/paths";

interface SchemaProperty {
  description: string;
  secret?: boolean;
}
interface SchemaResource {
  inputProperties: Record<string, SchemaProperty>;
  properties: Record<string, SchemaProperty>;
}
const schema = JSON.parse(schemaJson("0.0.0")) as { resources: Record<string, SchemaResource> };

/** Each interface's and class's properties in a `.d.ts`, with their JSDoc text. */
function documented(dts: string): Map<string, Map<string, string>> {
  const file = ts.createSourceFile("resources.d.ts", dts, ts.ScriptTarget.Latest, true);
  const out = new Map<string, Map<string, string>>();
  file.forEachChild((node) => {
    if (!ts.isInterfaceDeclaration(node) && !ts.isClassDeclaration(node)) return;
    const members = new Map<string, string>();
    for (const member of node.members) {
      if (!member.name || !(ts.isPropertySignature(member) || ts.isPropertyDeclaration(member))) continue;
      const docs = ts.getJSDocCommentsAndTags(member).map((d) => (typeof d.comment === "string" ? d.comment : "")).join(" ");
      members.set(member.name.getText(file), docs.replace(/\s+/g, " ").trim());
    }
    out.set(node.name!.getText(file), members);
  });
  return out;
}

const expectedDoc = (p: SchemaProperty) => (p.description + (p.secret ? " Secret: encrypted in state." : "")).replace(/\s+/g, " ");

test("the generated TypeScript and docs/reference.md are what the declarations say today (`npm run generate`)", () => {
  assert.equal(readFileSync(GENERATED_RESOURCES, "utf8"), generatedResources(), "provider/src/generated/resources.ts is out of date: run `npm run generate`");
  const page = readFileSync(REFERENCE_FILE, "utf8");
  assert.equal(page, referencePage(page), "docs/reference.md is out of date: run `npm run generate`");
});

test("the schema, the published .d.ts and the reference docs list the same fields, descriptions and secret marks", () => {
  const dts = documented(readFileSync(join(REPO_ROOT, "provider", "dist", "generated", "resources.d.ts"), "utf8"));
  const reference = readFileSync(REFERENCE_FILE, "utf8");
  for (const [token, resource] of Object.entries(schema.resources)) {
    const name = token.split(":").pop()!;
    for (const [kind, props, members] of [
      ["inputs", resource.inputProperties, dts.get(`${name}Args`)!],
      ["outputs", resource.properties, dts.get(name)!],
    ] as const) {
      assert.deepEqual([...members.keys()].sort(), Object.keys(props).sort(), `${name} ${kind}: the .d.ts and the schema name the same properties`);
      for (const [prop, p] of Object.entries(props)) {
        assert.equal(members.get(prop), expectedDoc(p), `${name}.${prop} (${kind}): the .d.ts documents what the schema says`);
        const row = `| \`${prop}\` |`;
        const rows = reference.split("\n").filter((l) => l.startsWith(row) && l.includes(p.description.replace(/\|/g, "\\|").replace(/\n/g, " ")));
        assert.ok(rows.length > 0, `docs/reference.md documents ${name}.${prop}`);
        assert.equal(rows.some((r) => r.includes("**secret**")), Boolean(p.secret), `docs/reference.md marks ${name}.${prop} secret as the schema does`);
      }
    }
  }
});

test("the schema derived from the declarations is the snapshot, field by field (it changes only on purpose)", () => {
  const before = JSON.parse(readFileSync(join(__dirname, "fixtures", "schema.json"), "utf8")) as Record<string, unknown>;
  const now = JSON.parse(schemaJson(before.version as string)) as Record<string, unknown>;
  const flat = (value: unknown, path = "", out: Record<string, unknown> = {}) => {
    if (value && typeof value === "object") for (const [k, v] of Object.entries(value)) flat(v, `${path}/${k}`, out);
    else out[path] = value;
    return out;
  };
  const [a, b] = [flat(before), flat(now)];
  for (const path of new Set([...Object.keys(a), ...Object.keys(b)])) assert.deepEqual(b[path], a[path], `schema field ${path}`);
});
