/** docs/reference.md's generated block is what the schema says today (`npm run docs` rewrites it). */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { REFERENCE_FILE, referencePage } from "../../scripts/gen-docs";

test("docs/reference.md lists every resource, function and config key of the schema, with its secret marks", () => {
  const page = readFileSync(REFERENCE_FILE, "utf8");
  assert.equal(page, referencePage(page), "docs/reference.md is out of date: run `npm run docs`");
  assert.match(page, /\| `signingSecret` \| string \| {2}\| \*\*secret\*\* \|/);
  assert.match(page, /\| `secret` \| string \| yes \| \*\*secret\*\* \|/);
});
