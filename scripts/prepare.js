#!/usr/bin/env node
// Runs before `npm run demo` and `npm test` on any clone, fresh or not: installs the dependencies
// when node_modules is missing or older than package-lock.json, then builds. Plain JavaScript
// because nothing is compiled yet on a fresh clone.
"use strict";
const { spawnSync } = require("node:child_process");
const { existsSync, statSync } = require("node:fs");
const { join } = require("node:path");

const root = join(__dirname, "..");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

function run(args, what) {
  const result = spawnSync(npm, args, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) {
    console.error(`\n${what} failed (npm ${args.join(" ")}); see the output above.`);
    process.exit(result.status || 1);
  }
}

const installed = join(root, "node_modules", ".package-lock.json");
const lock = join(root, "package-lock.json");
if (!existsSync(installed) || statSync(lock).mtimeMs > statSync(installed).mtimeMs) {
  console.log("Installing dependencies (npm ci)...");
  run(["ci", "--no-audit", "--no-fund"], "Installing dependencies");
}
run(["run", "--silent", "build"], "Building");
