/**
 * `npm run release:check`: builds every artifact a release publishes into dist/release/ and checks
 * each the way its ecosystem will take it — nothing is published:
 *   plugin/  the plugin tarballs (linux, darwin, windows × amd64, arm64), each through
 *            `pulumi plugin install --file`, then the installed plugin serves the schema;
 *   npm/     the four packages (`npm pack`), each accepted by `npm publish --dry-run`;
 *   python/  the Python SDK as a wheel and an sdist (`python -m build`), the wheel installed into a
 *            fresh virtualenv and imported;
 *   go/      the Go SDK, its module path the one a user `go get`s;
 *   every artifact published into local registries (scripts/local-registries.ts) and taken back by
 *            name and version: npm install, pip download, go get + go vet, pulumi plugin install;
 *   the GitHub workflows accepted by actionlint (v1.7.12, built from the Go module proxy, cached);
 *   reproducible: the plugin tarball, the npm tarballs and the wheel built a second time, sha256 compared.
 * First of all: one version everywhere (the packages, the plugin, the schema, CHANGELOG.md).
 * Prints one line per check; exits non-zero on the first failure.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GO_MODULE, PLUGIN_DOWNLOAD_URL, schemaJson } from "pulumi-gemini-webhooks/plugin/schema";
import { packPlugin, PLATFORMS, PLUGIN_FILES, PLUGIN_VERSION, pluginTarball } from "./bundle-plugin";
import { ACTIONLINT_VERSION, actionlintBin, shippedWorkflows } from "./actionlint";
import { pulumiBinDir } from "./engine";
import { cleanNpmEnv } from "./exec";
import { REPO_ROOT } from "./paths";
import { PYTHON_PULUMI_VERSION, pythonVenv } from "./python-venv";
import { SDKS_DIR } from "./gen-sdks";
import { buildPythonDist, WORKSPACES } from "./release-artifacts";
import { startLocalRegistries } from "./local-registries";

export { WORKSPACES };

export const RELEASE_DIR = join(REPO_ROOT, "dist", "release");

function ok(line: string): void {
  console.log(`release:check ok  ${line}`);
}

function run(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  try {
    return execFileSync(cmd, args, { cwd: options.cwd ?? REPO_ROOT, env: options.env ?? process.env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
  } catch (err) {
    const e = err as { status?: number; stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(" ")} exited ${e.status}:\n${e.stdout ?? ""}${e.stderr ?? ""}`);
  }
}

const json = (file: string) => JSON.parse(readFileSync(file, "utf8")) as { version: string; name: string };

/** One version for every artifact: the root, the four packages, the plugin, the schema and the changelog's newest entry. */
export function releaseVersion(): string {
  const version = json(join(REPO_ROOT, "package.json")).version;
  for (const ws of WORKSPACES) {
    const pkg = json(join(REPO_ROOT, ws, "package.json"));
    if (pkg.version !== version) throw new Error(`${ws}/package.json is ${pkg.version}, the release is ${version}`);
  }
  if (PLUGIN_VERSION !== version) throw new Error(`the plugin is ${PLUGIN_VERSION}, the release is ${version}`);
  if ((JSON.parse(schemaJson(PLUGIN_VERSION)) as { version: string }).version !== version) throw new Error("the schema's version differs");
  for (const pin of examplePins()) {
    if (pin.version !== version) throw new Error(`${pin.file} pins ${pin.what} ${pin.version}, the release is ${version}`);
  }
  const newest = /^## (\d+\.\d+\.\d+)/m.exec(readFileSync(join(REPO_ROOT, "CHANGELOG.md"), "utf8"))?.[1];
  if (newest !== version) throw new Error(`CHANGELOG.md's newest entry is ${newest}, the release is ${version}`);
  return version;
}

/** Every place an example names this release (a user's copy installs exactly that). */
export function examplePins(): { file: string; what: string; version: string }[] {
  const patterns: [string, RegExp][] = [
    ["an npm package", /"(?:pulumi-gemini-webhooks|gemini-webhooks-(?:client|emulator|receiver))": "[~^]?(\d+\.\d+\.\d+)"/g],
    ["the emulator", /gemini-webhooks-emulator@(\d+\.\d+\.\d+)/g],
    ["the Python SDK", /pulumi_gemini==(\d+\.\d+\.\d+)/g],
    ["the Go SDK", /pulumi-gemini-webhooks\/sdk\/go v(\d+\.\d+\.\d+)/g],
    ["the plugin", /^version: (\d+\.\d+\.\d+)$/gm],
    ["an image", /ghcr\.io\/gemini-webhooks\/gemini-webhooks-(?:receiver|emulator):(\d+\.\d+\.\d+)/g],
  ];
  const files = run("git", ["ls-files", "examples"]).split("\n").filter((f) => /(package\.json|requirements\.txt|go\.mod|README\.md|\.ya?ml|\.ts|\.py)$/.test(f) && !f.endsWith("package-lock.json"));
  const pins: { file: string; what: string; version: string }[] = [];
  for (const file of files) {
    const named = /\/sdks\/gemini\/gemini-(\d+\.\d+\.\d+)\.yaml$/.exec(file)?.[1];
    if (named) pins.push({ file, what: "the plugin (its package declaration's name)", version: named });
    const text = readFileSync(join(REPO_ROOT, file), "utf8");
    for (const [what, pattern] of patterns) {
      if (what === "the plugin" && !/packageDeclarationVersion/.test(text)) continue;
      for (const m of text.matchAll(pattern)) pins.push({ file, what, version: m[1] });
    }
  }
  return pins;
}

function checkPlugin(version: string): void {
  const dir = join(RELEASE_DIR, "plugin");
  mkdirSync(dir, { recursive: true });
  const home = mkdtempSync(join(tmpdir(), "gemini-release-home-"));
  try {
    const env = { ...process.env, PULUMI_HOME: home, PULUMI_SKIP_UPDATE_CHECK: "true", PATH: `${pulumiBinDir()}:${process.env.PATH}` };
    for (const platform of PLATFORMS) {
      const tarball = pluginTarball(platform);
      const listed = run("tar", ["-tzf", tarball]).split("\n").filter(Boolean).sort();
      if (JSON.stringify(listed) !== JSON.stringify([...PLUGIN_FILES].sort())) throw new Error(`${tarball} holds ${listed.join(", ")}`);
      cpSync(tarball, join(dir, tarball.split("/").pop()!));
    }
    run("pulumi", ["plugin", "install", "resource", "gemini", version, "--file", pluginTarball()], { env });
    const installed = run("pulumi", ["plugin", "ls", "--json"], { env });
    if (!(JSON.parse(installed) as { name: string; version: string }[]).some((p) => p.name === "gemini" && p.version === version)) throw new Error(`pulumi plugin ls does not list gemini ${version}`);
    const schema = JSON.parse(run("pulumi", ["package", "get-schema", `gemini@${version}`], { env })) as { version: string; pluginDownloadURL: string };
    if (schema.version !== version || !schema.pluginDownloadURL.startsWith("github://")) throw new Error(`the installed plugin's schema: version ${schema.version}, pluginDownloadURL ${schema.pluginDownloadURL}`);
    ok(`plugin: ${PLATFORMS.length} tarballs (${PLATFORMS.join(", ")}); \`pulumi plugin install --file\` then \`pulumi package get-schema\`: version ${schema.version}, pluginDownloadURL ${schema.pluginDownloadURL}`);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

const sha256 = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

/** Two builds of one commit: the same bytes, or the release is not reproducible. */
function sameBytes(what: string, first: string, second: string): void {
  const [a, b] = [sha256(first), sha256(second)];
  if (a !== b) throw new Error(`${what} is not reproducible: two builds give sha256 ${a} and ${b}`);
  ok(`reproducible: ${what} built twice, sha256 ${a.slice(0, 16)}… both times`);
}

/** The plugin tarballs and the npm tarballs, built a second time into a scratch directory and compared. */
function checkReproducible(): void {
  const again = mkdtempSync(join(tmpdir(), "gemini-release-again-"));
  try {
    const [tarball] = packPlugin(join(again, "plugin"));
    sameBytes(`plugin: ${tarball.split("/").pop()}`, join(RELEASE_DIR, "plugin", tarball.split("/").pop()!), tarball);
    mkdirSync(join(again, "npm"));
    for (const ws of WORKSPACES) {
      const file = run("npm", ["pack", "--workspace", ws, "--pack-destination", join(again, "npm"), "--silent"]).trim().split("\n").pop()!;
      sameBytes(`npm: ${file}`, join(RELEASE_DIR, "npm", file), join(again, "npm", file));
    }
  } finally {
    rmSync(again, { recursive: true, force: true });
  }
}

function checkNpm(version: string): void {
  const dir = join(RELEASE_DIR, "npm");
  mkdirSync(dir, { recursive: true });
  for (const ws of WORKSPACES) {
    const name = json(join(REPO_ROOT, ws, "package.json")).name;
    run("npm", ["pack", "--workspace", ws, "--pack-destination", dir, "--silent"]);
    const dry = run("npm", ["publish", "--dry-run", "--workspace", ws, "--json"]);
    const published = JSON.parse(dry.slice(dry.indexOf("{"))) as Record<string, { name: string; version: string; files: { path: string }[] }> | { name: string; version: string; files: { path: string }[] };
    const report = ("files" in published ? published : Object.values(published)[0]) as { name: string; version: string; files: { path: string }[] };
    if (report.name !== name || report.version !== version) throw new Error(`npm publish --dry-run of ${ws}: ${report.name}@${report.version}`);
    const files = report.files.map((f) => f.path);
    const stray = files.filter((f) => /\.test\.|\.map$|^src\/|tsbuildinfo/.test(f));
    if (stray.length) throw new Error(`${name} would publish ${stray.join(", ")}`);
    ok(`npm: ${name}@${version}, ${files.length} files, no tests, sources or maps; \`npm publish --dry-run\` accepted it`);
  }
}

async function checkPython(version: string): Promise<void> {
  const dir = join(RELEASE_DIR, "python");
  const built = (await buildPythonDist(join(SDKS_DIR, "python"), dir)).map((f) => f.split("/").pop()!);
  const wheel = built.find((f) => f.endsWith(".whl"));
  const sdist = built.find((f) => f.endsWith(".tar.gz"));
  if (!wheel || !sdist || !wheel.includes(version) || !sdist.includes(version)) throw new Error(`python -m build wrote ${built.join(", ")}`);
  const inSdist = run("tar", ["-tzf", join(dir, sdist)]).split("\n");
  if (!inSdist.some((f) => f.endsWith(`-${version}/README.md`))) throw new Error(`${sdist} has no README.md, which its pyproject.toml names`);
  // A fresh virtualenv: the wheel alone, with Pulumi's SDK seen through a .pth (installed once, cached).
  const pulumiPython = await pythonVenv([`pulumi==${PYTHON_PULUMI_VERSION}`]);
  const sitePackages = run(pulumiPython, ["-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).trim();
  const fresh = mkdtempSync(join(tmpdir(), "gemini-release-venv-"));
  run("python3", ["-m", "venv", fresh]);
  const python = join(fresh, "bin", "python");
  const freshSite = run(python, ["-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).trim();
  writeFileSync(join(freshSite, "pulumi-sdk.pth"), sitePackages + "\n");
  run(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", join(dir, wheel)]);
  const imported = run(python, ["-c", "import importlib.metadata as m, pulumi_gemini as g; print(m.version('pulumi_gemini'), g.Webhook.__name__, g.SecretRotation.__name__)"]).trim();
  rmSync(fresh, { recursive: true, force: true });
  if (!imported.startsWith(version)) throw new Error(`the installed wheel says ${imported}`);
  ok(`python: ${wheel} and ${sdist} (python -m build); installed in a fresh virtualenv: ${imported}`);
  const again = mkdtempSync(join(tmpdir(), "gemini-release-wheel-"));
  try {
    await buildPythonDist(join(SDKS_DIR, "python"), again);
    sameBytes(`python: ${wheel}`, join(dir, wheel), join(again, wheel));
  } finally {
    rmSync(again, { recursive: true, force: true });
  }
}

function checkGo(): void {
  const dir = join(RELEASE_DIR, "go");
  rmSync(dir, { recursive: true, force: true });
  cpSync(join(SDKS_DIR, "go"), dir, { recursive: true });
  const module = /^module (\S+)/m.exec(readFileSync(join(dir, "go.mod"), "utf8"))?.[1];
  if (module !== GO_MODULE) throw new Error(`the Go SDK's module is ${module}, not ${GO_MODULE}`);
  ok(`go: module ${module} in ${dir}`);
}

/**
 * Published into local registries (Verdaccio, pypiserver, a GOPROXY tree, the plugin's release URL)
 * and taken back by name and version, as a user outside this repository takes them.
 */
async function checkFromRegistries(version: string): Promise<void> {
  const registries = await startLocalRegistries();
  const scratch = mkdtempSync(join(tmpdir(), "gemini-release-consume-"));
  try {
    const files = (sub: string, filter: (f: string) => boolean) => readdirSync(join(RELEASE_DIR, sub)).filter(filter).map((f) => join(RELEASE_DIR, sub, f));
    await registries.publish(version, {
      npm: files("npm", (f) => f.endsWith(".tgz")),
      python: files("python", (f) => f.endsWith(".whl") || f.endsWith(".tar.gz")),
      goSdkDir: join(RELEASE_DIR, "go"),
      plugin: files("plugin", (f) => f.endsWith(".tar.gz")),
    });
    const env = cleanNpmEnv({ ...registries.env, PATH: `${pulumiBinDir()}:${process.env.PATH}`, PULUMI_SKIP_UPDATE_CHECK: "true" });

    const npmDir = join(scratch, "npm");
    mkdirSync(npmDir);
    writeFileSync(join(npmDir, "package.json"), JSON.stringify({ name: "infra", private: true }));
    run("npm", ["install", "--no-audit", "--no-fund", `pulumi-gemini-webhooks@${version}`, `gemini-webhooks-receiver@${version}`], { cwd: npmDir, env });
    const installed = ["pulumi-gemini-webhooks", "gemini-webhooks-client", "gemini-webhooks-receiver"].map((name) => `${name}@${json(join(npmDir, "node_modules", name, "package.json")).version}`);
    if (!installed.every((p) => p.endsWith(`@${version}`))) throw new Error(`npm install from ${registries.npmUrl} gave ${installed.join(", ")}`);
    ok(`registries: npm install pulumi-gemini-webhooks@${version} gemini-webhooks-receiver@${version} from Verdaccio: ${installed.join(", ")}`);

    run("python3", ["-m", "pip", "download", "--quiet", "--no-deps", "--dest", join(scratch, "pip"), `pulumi_gemini==${version}`], { env });
    ok(`registries: pip download pulumi_gemini==${version} from pypiserver: ${readdirSync(join(scratch, "pip")).join(", ")}`);

    const goDir = join(scratch, "go");
    mkdirSync(goDir);
    run("go", ["mod", "init", "example.com/infra"], { cwd: goDir, env });
    run("go", ["get", `${GO_MODULE}@v${version}`], { cwd: goDir, env });
    run("go", ["vet", `${GO_MODULE}/gemini`], { cwd: goDir, env });
    ok(`registries: go get ${GO_MODULE}@v${version} through a GOPROXY tree (no replace), go vet clean`);

    const home = join(scratch, "pulumi-home");
    run("pulumi", ["plugin", "install", "resource", "gemini", version, "--server", PLUGIN_DOWNLOAD_URL], { env: { ...env, PULUMI_HOME: home } });
    if (!readdirSync(join(home, "plugins")).includes(`resource-gemini-v${version}`)) throw new Error("the plugin was not installed from its release URL");
    ok(`registries: pulumi plugin install resource gemini ${version} from its pluginDownloadURL (${PLUGIN_DOWNLOAD_URL}, overridden to ${registries.pluginUrl})`);
  } finally {
    await registries.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

function checkWorkflows(): void {
  const workflows = shippedWorkflows();
  run(actionlintBin(), ["-shellcheck=", "-pyflakes=", ...workflows]);
  ok(`workflows: actionlint ${ACTIONLINT_VERSION} accepts ${workflows.join(", ")}`);
}

async function main(): Promise<void> {
  const version = releaseVersion();
  ok(`version ${version} for the four packages, the plugin, the schema and CHANGELOG.md`);
  rmSync(RELEASE_DIR, { recursive: true, force: true });
  mkdirSync(RELEASE_DIR, { recursive: true });
  checkPlugin(version);
  checkNpm(version);
  checkReproducible();
  run("npm", ["run", "--silent", "sdks"]);
  await checkPython(version);
  checkGo();
  await checkFromRegistries(version);
  checkWorkflows();
  console.log(`release:check: every artifact of ${version} is in ${RELEASE_DIR}`);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(`release:check FAILED: ${(err as Error).message}`);
    process.exit(1);
  });
}
