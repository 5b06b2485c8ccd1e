/**
 * Every command on a Node older than 22.13 (the machine's own Node 20 here) stops with one line naming
 * the version it needs and how to get it, exit 1 — never a stack trace (`node:sqlite` missing, an
 * unknown built-in). The launchers in bin/, and the bundles shipped in the plugin tarball and the image.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../../scripts/paths";

/** A Node older than 22.13 on this machine: the system's (Debian's Node 20 on these machines). */
function oldNode(): string {
  for (const candidate of [process.env.GEMINI_OLD_NODE, "/usr/bin/node", "/usr/local/bin/node"]) {
    if (!candidate || !existsSync(candidate)) continue;
    const version = spawnSync(candidate, ["--version"], { encoding: "utf8" }).stdout.trim();
    const [major, minor] = version.slice(1).split(".").map(Number);
    if (major < 22 || (major === 22 && minor < 13)) return candidate;
  }
  throw new Error("no Node older than 22.13 found (set GEMINI_OLD_NODE to one): this test needs one to prove anything");
}

const commands: [string, string, string[]][] = [
  ["gemini-webhooks-emulator", join(REPO_ROOT, "emulator", "bin", "gemini-webhooks-emulator"), ["serve"]],
  ["gemini-webhooks-receiver", join(REPO_ROOT, "receiver", "bin", "gemini-webhooks-receiver"), []],
  ["pulumi-resource-gemini", join(REPO_ROOT, "provider", "bin", "pulumi-resource-gemini"), []],
  ["pulumi-resource-gemini", join(REPO_ROOT, "provider", "dist", "release", "stage", "pulumi-resource-gemini.js"), []],
  ["gemini-webhooks-receiver", join(REPO_ROOT, "receiver", "dist", "image", "receiver.js"), []],
];

test.each(commands)("%s (%s) on an old Node: one line naming what it needs, exit 1", (name, file, args) => {
  const node = oldNode();
  assert.ok(existsSync(file), `${file} (npm run build writes it)`);
  const result = spawnSync(node, [file, ...args], { encoding: "utf8", env: { PATH: process.env.PATH, WEBHOOK_SIGNING_SECRETS: "" }, timeout: 20_000 });
  assert.equal(result.status, 1, result.stderr);
  assert.equal(result.stdout, "");
  const lines = result.stderr.split("\n").filter(Boolean);
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0], new RegExp(`^${name} needs Node\\.js 22\\.13 or newer; this is v\\d+\\.\\d+\\.\\d+\\. Install Node 24 LTS \\(https://nodejs\\.org, or \`nvm install 24\`\\) and run it again\\.$`));
});
