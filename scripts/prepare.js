#!/usr/bin/env node
// The one entry of `npm run demo`, `npm test` and `npm run bench` on any clone, fresh or not:
//  1. picks a Node the project supports (>= 22.13): the running one, or else Node 24 LTS fetched
//     once from the npm registry (`node-<platform>-<arch>`, a package holding the binary) into a cache;
//  2. installs the workspace (npm ci) when node_modules is missing or older than package-lock.json;
//  3. builds; 4. runs the given compiled script under that Node, with it first on PATH so the
//     Pulumi CLI's plugins (and npm) run under it too.
// Plain JavaScript that runs on old Nodes, because nothing is compiled yet on a fresh clone.
//
// Usage: node scripts/prepare.js <script.js> [args...]
"use strict";
const { spawn, spawnSync } = require("node:child_process");
const { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } = require("node:fs");
const { homedir, tmpdir } = require("node:os");
const { delimiter, dirname, join } = require("node:path");

const root = join(__dirname, "..");
const MIN = [22, 13];
const NODE_VERSION = process.env.GEMINI_NODE_VERSION || "24.21.0";

function supported(version) {
  const [major, minor] = version.replace(/^v/, "").split(".").map(Number);
  return major > MIN[0] || (major === MIN[0] && minor >= MIN[1]);
}

function fail(message) {
  console.error(`\n${message}`);
  process.exit(1);
}

/** The directory of a supported `node` binary, fetched into the cache when the running one is too old. */
function nodeBinDir() {
  if (supported(process.version)) return dirname(process.execPath);
  const home = process.env.HOME || homedir();
  const cache = process.env.GEMINI_WEBHOOKS_CACHE || join(process.env.XDG_CACHE_HOME || join(home, ".cache"), "gemini-webhooks");
  const binDir = join(cache, `node-v${NODE_VERSION}`, "bin");
  const pkg = `node-${process.platform}-${process.arch}@${NODE_VERSION}`;
  console.log(`Node ${process.version} is older than ${MIN.join(".")}; running under Node ${NODE_VERSION} (${pkg} from the npm registry, cached in ${binDir}).`);
  if (existsSync(join(binDir, "node"))) return binDir;
  const work = mkdtempSync(join(tmpdir(), "gemini-node-"));
  try {
    const packed = spawnSync("npm", ["pack", pkg, "--silent", "--pack-destination", work], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
    const tarball = packed.status === 0 ? packed.stdout.trim().split("\n").pop() : "";
    if (!tarball) fail(`Could not fetch ${pkg} from the npm registry. Install Node 24 LTS (https://nodejs.org) and run this again.`);
    const untar = spawnSync("tar", ["xzf", join(work, tarball), "-C", work, "package/bin/node"], { stdio: "inherit" });
    if (untar.status !== 0) fail(`Could not unpack ${tarball}.`);
    mkdirSync(binDir, { recursive: true });
    renameSync(join(work, "package", "bin", "node"), join(binDir, "node"));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return binDir;
}

const binDir = nodeBinDir();
const node = join(binDir, "node");
const env = { ...process.env, PATH: [binDir, process.env.PATH || ""].join(delimiter) };
// npm's own script is run by the chosen Node, so engines checks see that Node (no EBADENGINE).
const npmCli = process.env.npm_execpath && process.env.npm_execpath.endsWith(".js") ? process.env.npm_execpath : null;

function npm(args, what) {
  const result = npmCli
    ? spawnSync(node, [npmCli, ...args], { cwd: root, stdio: "inherit", env })
    : spawnSync("npm", args, { cwd: root, stdio: "inherit", env });
  if (result.status !== 0) fail(`${what} failed (npm ${args.join(" ")}); see the output above.`);
}

const installed = join(root, "node_modules", ".package-lock.json");
const lock = join(root, "package-lock.json");
if (!existsSync(installed) || statSync(lock).mtimeMs > statSync(installed).mtimeMs) {
  console.log("Installing dependencies (npm ci)...");
  npm(["ci", "--no-audit", "--no-fund"], "Installing dependencies");
}
npm(["run", "--silent", "build"], "Building");

const [script, ...args] = process.argv.slice(2);
if (!script) process.exit(0);
const child = spawn(node, [join(root, script), ...args], { cwd: root, stdio: "inherit", env });
// Ctrl-C reaches the child from the terminal; the child decides when to stop (the demo cleans up first).
process.on("SIGINT", () => {});
process.on("SIGTERM", () => child.kill("SIGTERM"));
child.on("exit", (code, signal) => process.exit(code ?? (signal === "SIGINT" ? 130 : 1)));
