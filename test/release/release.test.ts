/**
 * lane: full (git, npm, Go, Python and the Pulumi CLI)
 * The doors a newcomer and a release use, as typed: a fresh clone's `npm ci && npm run build` then
 * the workspace commands and `npm run lint`; `npm run release:check` building and validating every
 * artifact a release publishes (one version; plugin tarballs through `pulumi plugin install --file`;
 * `npm publish --dry-run`; the Python wheel in a fresh virtualenv; the Go module; actionlint; the
 * plugin tarball, the npm tarballs and the wheel built twice with the same sha256).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execCommand } from "../../scripts/exec";
import { REPO_ROOT } from "../../scripts/paths";

const env = { ...process.env, PATH: [dirname(process.execPath), process.env.PATH].join(":"), npm_config_update_notifier: "false" };
const work = mkdtempSync(join(tmpdir(), "gemini-fresh-clone-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function typed(command: string, cwd: string) {
  const result = await execCommand("bash", ["-e", "-o", "pipefail", "-c", command], { cwd, env });
  assert.equal(result.code, 0, `${command} (in ${cwd}):\n${result.output.slice(-3000)}`);
  return result.stdout;
}

test("a fresh clone: npm ci && npm run build, then every workspace command answers --help, and npm run lint passes", async () => {
  const clone = join(work, "clone");
  await typed(`git clone --quiet ${JSON.stringify(REPO_ROOT)} ${JSON.stringify(clone)}`, work);
  await typed("npm ci --no-audit --no-fund && npm run build", clone);
  assert.match(await typed("npx gemini-webhooks-emulator --help", clone), /Usage: gemini-webhooks-emulator <command>/);
  assert.match(await typed("npx gemini-webhooks-receiver --help", clone), /Usage: gemini-webhooks-receiver/);
  assert.ok(existsSync(join(clone, "node_modules", ".bin", "pulumi-resource-gemini")), "the plugin's bin is linked");
  await typed("npm run lint", clone);
}, 600_000);

test("npm run release:check builds every artifact into dist/release/ and validates each", async () => {
  const out = await typed("npm run release:check", REPO_ROOT);
  for (const check of [/ok {2}version \d+\.\d+\.\d+/, /ok {2}plugin: 6 tarballs/, /ok {2}npm: pulumi-gemini-webhooks@/, /ok {2}npm: gemini-webhooks-receiver@/, /ok {2}python: pulumi_gemini-\S+\.whl/, /ok {2}go: module github\.com\//, /ok {2}workflows: actionlint/, /ok {2}reproducible: plugin: pulumi-resource-gemini-v\S+ built twice/, /ok {2}reproducible: npm: gemini-webhooks-receiver-\S+ built twice/, /ok {2}reproducible: python: pulumi_gemini-\S+\.whl built twice/]) {
    assert.match(out, check);
  }
  const release = join(REPO_ROOT, "dist", "release");
  assert.equal(readdirSync(join(release, "plugin")).length, 6);
  assert.equal(readdirSync(join(release, "npm")).filter((f) => f.endsWith(".tgz")).length, 4);
  assert.ok(readdirSync(join(release, "python")).some((f) => f.endsWith(".whl")));
  assert.ok(existsSync(join(release, "go", "go.mod")));
}, 600_000);
