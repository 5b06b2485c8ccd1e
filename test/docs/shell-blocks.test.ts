/**
 * lane: full (the Pulumi CLI and its YAML host)
 * Docs that run: every fenced shell block in README.md, docs/ and docs/adapters/ is run as
 * typed — in order, from the repository root, with a fresh
 * HOME, PULUMI_HOME and a local backend the user is logged in to (PULUMI_BACKEND_URL) — or it carries a visible `<!-- not run here: reason -->` in the
 * Markdown. A line ending in "in another terminal" is started in the background (the emulator
 * recipe) and stopped when the page is done. The examples' READMEs are run where their users run
 * them, in a copy outside the repository: test/examples/copied-out.test.ts.
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execCommand } from "../../scripts/exec";
import { pulumiBinDir } from "../../scripts/engine";
import { assertPortFree, isFree } from "../../scripts/free-port";
import { REPO_ROOT } from "../../scripts/paths";
import { waitFor } from "../../scripts/wait-for";
import { ShellBlock, shellBlocks } from "../support/shell-blocks";

interface Block extends ShellBlock {
  file: string;
}

const pagesIn = (dir: string) => readdirSync(join(REPO_ROOT, dir)).filter((f) => f.endsWith(".md")).map((f) => `${dir}/${f}`);
const PAGES = ["README.md", ...pagesIn("docs"), ...pagesIn("docs/adapters")];

function blocks(file: string): Block[] {
  return shellBlocks(readFileSync(join(REPO_ROOT, file), "utf8")).map((b) => ({ file, ...b }));
}

const all = PAGES.flatMap(blocks);
const home = mkdtempSync(join(tmpdir(), "gemini-docs-home-"));
const env: NodeJS.ProcessEnv = {
  ...process.env,
  HOME: home,
  PULUMI_HOME: join(home, ".pulumi-home"),
  PULUMI_CONFIG_PASSPHRASE: "docs-test",
  PULUMI_SKIP_UPDATE_CHECK: "true",
  PULUMI_SKIP_CONFIRMATIONS: "true",
  npm_config_cache: join(home, ".npm"),
  npm_config_update_notifier: "false",
  PATH: [dirname(process.execPath), pulumiBinDir(), process.env.PATH].join(":"),
};
env.PULUMI_BACKEND_URL = `file://${join(home, "backend")}`;
mkdirSync(join(home, "backend"));
delete env.GEMINI_API_KEY;
delete env.GOOGLE_API_KEY;

afterAll(() => rmSync(home, { recursive: true, force: true }));

test("every shell block is run, or says in the page why not", () => {
  const runnable = all.filter((b) => !b.skip);
  for (const b of all.filter((x) => x.skip)) assert.ok(b.skip!.trim().length > 20, `${b.file}:${b.line}: the reason is too short to help`);
  console.log(`docs: ${all.length} shell blocks in ${PAGES.length} pages; ${runnable.length} run as typed, ${all.length - runnable.length} skipped with a reason:\n` +
    all.filter((b) => b.skip).map((b) => `  ${b.file}:${b.line}: ${b.skip}`).join("\n"));
  // The examples' blocks are run copied out (test/examples/copied-out.test.ts); these pages keep at least the
  // plugin's install from a build (docs/languages.md) and the README's.
  assert.ok(runnable.length >= 2, `${runnable.length} blocks run`);
});

const pagesToRun = [...new Set(all.filter((b) => !b.skip).map((b) => b.file))];

test.each(pagesToRun)("the shell blocks of %s run as typed", async (file) => {
  const background: { child: ChildProcess; port: string }[] = [];
  const cwdOf = REPO_ROOT;
  try {
    for (const block of blocks(file).filter((b) => !b.skip)) {
      const lines = block.code.split("\n").filter((l) => l.trim() && !l.trim().startsWith("#"));
      const started = lines.filter((l) => /in another terminal\s*$/.test(l));
      for (const line of started) {
        // The emulator recipe: from the repository root, in the background until this page is done.
        const port = /--port (\d+)/.exec(line)?.[1] ?? "8089";
        await assertPortFree(Number(port), `${file}:${block.line} (the emulator as the page starts it)`);
        const child = spawn("bash", ["-c", `exec ${line.replace(/\s+#.*$/, "")}`], { cwd: REPO_ROOT, env, stdio: "ignore" });
        background.push({ child, port });
        await waitFor(`${file}:${block.line}: the emulator on ${port}`, async () => (await fetch(`http://127.0.0.1:${port}/.well-known/jwks.json`).catch(() => undefined))?.status === 200, 30_000, 100);
      }
      const rest = block.code.split("\n").filter((l) => !started.includes(l)).join("\n");
      if (!rest.trim()) continue;
      const result = await execCommand("bash", ["-e", "-o", "pipefail", "-c", rest], { cwd: cwdOf, env });
      assert.equal(result.code, 0, `${file}:${block.line} failed as typed:\n${result.output.slice(-3000)}`);
      if (/stack output \S+ --show-secrets/.test(rest)) assert.match(result.stdout, /whsec_/, `${file}:${block.line}: the secret output`);
    }
  } finally {
    // Stopped as a terminal would stop it: the launcher gets SIGTERM, and the server must go with it.
    for (const { child, port } of background) {
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await once(child, "exit");
      }
      // Stopped means the port is free again (a server that stopped answering may still hold it for a
      // moment, and the next page starts its emulator on the same port).
      await waitFor(`${file}: the emulator on ${port} to stop with its launcher and free the port`, () => isFree(Number(port)), 10_000, 100);
    }
    // What `pulumi stack init` and `config set` wrote beside the example.
    for (const f of readdirSync(cwdOf)) if (/^Pulumi\.[^.]+\.yaml$/.test(f)) rmSync(join(cwdOf, f));
  }
}, 300_000);
