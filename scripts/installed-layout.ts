/**
 * Lays out this package as `npm install pulumi-gemini-webhooks` would, in a project directory of
 * its own: a real copy of package.json and dist/ under node_modules/pulumi-gemini-webhooks, and
 * the dependencies linked from this checkout. Tests and benchmarks use it to see what users get
 * (a `__provider` stored by reference, portable state) without a registry round trip.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "./engine";

export const PACKAGE_NAME = "pulumi-gemini-webhooks";

/** Returns the project directory; the package is `require(join(dir, "node_modules", PACKAGE_NAME))`. */
export function installedLayout(): string {
  const dir = mkdtempSync(join(tmpdir(), "gemini-installed-"));
  const modules = join(dir, "node_modules");
  const pkg = join(modules, PACKAGE_NAME);
  mkdirSync(pkg, { recursive: true });
  cpSync(join(REPO_ROOT, "package.json"), join(pkg, "package.json"));
  cpSync(join(REPO_ROOT, "dist"), join(pkg, "dist"), { recursive: true, filter: (src) => !src.includes(`${join("dist", "test")}`) });
  for (const entry of readdirSync(join(REPO_ROOT, "node_modules"))) {
    if (entry === PACKAGE_NAME || entry.startsWith(".")) continue;
    symlinkSync(join(REPO_ROOT, "node_modules", entry), join(modules, entry));
  }
  return dir;
}
