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

test("the receiver's layout shows its roles, and what is verified depends on nothing of the server", () => {
  const src = join(REPO_ROOT, "receiver", "src");
  const importsOf = (file: string) => [...readFileSync(file, "utf8").matchAll(/(?:from|import|require)\s*\(?\s*["']([^"']+)["']/g)].map((m) => m[1]);
  const roles = readdirSync(src, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  assert.equal(roles.join(" "), "handle http ops queue verify web");
  assert.equal(readdirSync(src).filter((f) => f.endsWith(".ts")).sort().join(" "), "cli.ts index.ts serve.ts", "only the entry points at the top");
  for (const file of sources(join(src, "verify"))) {
    for (const target of importsOf(file)) {
      const allowed = target.startsWith("./") || target === "jose" || (target === "node:crypto" && file.endsWith("static-node.ts"));
      assert.ok(allowed, `${relative(REPO_ROOT, file)} imports ${target}: verify/ depends on nothing of the server`);
    }
  }
  for (const file of sources(join(src, "web"))) {
    for (const target of importsOf(file)) {
      const allowed = (target.startsWith("../verify/") && !target.includes("static-node")) || (target.startsWith("./") && !target.slice(2).includes("/"));
      assert.ok(allowed, `${relative(REPO_ROOT, file)} imports ${target}: the portable entry uses verify/ (and its own files) only, on Web Crypto`);
    }
  }
});
