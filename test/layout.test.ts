/**
 * The code stays readable: no production function (the packages, scripts, bench) runs over 80 lines.
 * A longer one is a sign that it does several things; split it along them.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { REPO_ROOT } from "../scripts/paths";

function sources(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && !["node_modules", "dist", "generated"].includes(entry.name)) sources(path, out);
    else if (entry.isFile() && path.endsWith(".ts") && !path.endsWith(".d.ts") && !path.includes(".test.")) out.push(path);
  }
  return out;
}

test("no production function is longer than 80 lines", () => {
  const long: string[] = [];
  for (const file of ["client/src", "provider/src", "emulator/src", "receiver/src", "scripts", "bench"].flatMap((d) => sources(join(REPO_ROOT, d)))) {
    const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isFunctionLike(node) && "body" in node && node.body) {
        const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
        const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
        if (last - first + 1 > 80) long.push(`${relative(REPO_ROOT, file)}:${first + 1} (${last - first + 1} lines)`);
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  assert.deepEqual(long, []);
});
