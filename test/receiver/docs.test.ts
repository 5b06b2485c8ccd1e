/**
 * The operator's guide (docs/receiver.md) against the receiver's one declaration of its variables
 * (VARIABLES in receiver/src/ops/config.ts): the table is that declaration, and `--help` lists the same.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { VARIABLES } from "gemini-webhooks-receiver";
import { RECEIVER_CLI, REPO_ROOT } from "../../scripts/paths";

test("docs/receiver.md's variable table is generated from VARIABLES, and --help names every variable", () => {
  const doc = readFileSync(join(REPO_ROOT, "docs", "receiver.md"), "utf8");
  const block = /<!-- variables:[^>]*-->\n([\s\S]*?)\n<!-- \/variables -->/.exec(doc);
  assert.ok(block, "the generated block is in docs/receiver.md");
  const expected = ["| variable | default | |", "|---|---|---|", ...VARIABLES.map((v) => `| \`${v.name}\` | ${v.fallback || "—"} | ${v.doc} |`)].join("\n");
  assert.equal(block[1], expected, "regenerate the table from VARIABLES (the expected text is above)");
  const help = execFileSync(process.execPath, [RECEIVER_CLI, "--help"], { encoding: "utf8" });
  for (const v of VARIABLES) assert.ok(help.includes(`  ${v.name} `), `--help lists ${v.name}`);
});
