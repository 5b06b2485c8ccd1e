/**
 * Every example folder is a project a user can copy: no machine path in any file, and a README. A
 * Pulumi example also has a Pulumi.yaml with no backend and the runtime options its language needs,
 * and a README that starts the emulator with the one recipe every example shares (same port, same
 * key, `gemini:baseUrl` set) and says how to go to Google's API instead. (An example of another kind —
 * tests against the emulator's image — is tested as it runs, in its own suite.)
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { load } from "js-yaml";
import { REPO_ROOT } from "../../scripts/paths";

const EXAMPLES = join(REPO_ROOT, "examples");
const folders = readdirSync(EXAMPLES, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;
/** The emulator from the npm registry, at this release (a copied example has no repository to run it from). */
const RECIPE = new RegExp(`npx --yes gemini-webhooks-emulator@${VERSION.replaceAll(".", "\\.")} serve --port 8089 --api-key local-key( --host 0\\.0\\.0\\.0)?\\s`);
const MACHINE_PATH = /(^|[\s"'=(:])\/(work|tmp|root|home|Users|var\/folders)\//m;

interface Project {
  name?: string;
  runtime?: string | { name: string; options?: Record<string, unknown> };
  main?: string;
  backend?: unknown;
}

test.each(folders)("examples/%s is a project a user can copy", (folder) => {
  const dir = join(EXAMPLES, folder);
  const tracked = execFileSync("git", ["ls-files", "--", `examples/${folder}`], { cwd: REPO_ROOT, encoding: "utf8" }).split("\n").filter(Boolean);
  for (const file of tracked) {
    assert.doesNotMatch(readFileSync(join(REPO_ROOT, file), "utf8"), MACHINE_PATH, `${file} holds a machine's path`);
  }

  const readme = readFileSync(join(dir, "README.md"), "utf8");
  if (!existsSync(join(dir, "Pulumi.yaml"))) {
    assert.ok(existsSync(join(REPO_ROOT, "test", "examples", `${folder}.test.ts`)), `examples/${folder} is not a Pulumi project: test/examples/${folder}.test.ts runs it`);
    return;
  }
  assert.match(readme, RECIPE, `${folder}/README.md starts the emulator with the shared recipe`);
  assert.match(readme, /pulumi config set gemini:baseUrl http:\/\/127\.0\.0\.1:8089/, `${folder}/README.md points the provider at the emulator`);
  assert.match(readme, /pulumi config set --secret gemini:apiKey local-key/, `${folder}/README.md sets the recipe's key, as a secret`);
  assert.match(readme, /Against Google's API:/, `${folder}/README.md says how to use the real API`);

  const projectFile = join(dir, "Pulumi.yaml");
  const project = load(readFileSync(projectFile, "utf8")) as Project;
  assert.ok(project.name, "a name");
  assert.equal(project.backend, undefined, "no backend in Pulumi.yaml: the user's `pulumi login` chooses it");
  if (project.main !== undefined) {
    assert.ok(!isAbsolute(project.main), `main is relative, got ${project.main}`);
  }
  const runtime = typeof project.runtime === "string" ? { name: project.runtime } : project.runtime!;
  assert.ok(["nodejs", "python", "go", "yaml"].includes(runtime.name), `runtime ${runtime.name}`);
  if (runtime.name === "python") {
    assert.equal(runtime.options?.virtualenv, "venv", "Python: the host creates venv/ and installs requirements.txt");
    assert.ok(existsSync(join(dir, "requirements.txt")));
  }
  if (runtime.name === "nodejs") {
    // A compiled main (bin/index.js) is built from the index.ts beside it.
    const main = (project.main ?? "index.ts").replace(/^bin\/(.*)\.js$/, "$1.ts");
    assert.ok(existsSync(join(dir, "package.json")) && existsSync(join(dir, main)), "its package.json and program");
  }
  if (runtime.name === "go") assert.ok(existsSync(join(dir, "go.mod")));
});
