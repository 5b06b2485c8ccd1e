/**
 * lane: full (local registries, npm, Python, Go, the Pulumi CLI and its YAML host)
 * Every example as a user takes it: copied into a folder outside this repository and run by its
 * README as typed, with nothing from the repository — this release built from this checkout and
 * published into real local registries (scripts/local-registries.ts: Verdaccio, pypiserver, a
 * GOPROXY tree, the plugin's release URL), reached only through the standard settings
 * (npm_config_registry, PIP_INDEX_URL, GOPROXY, PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES), a fresh
 * PULUMI_HOME (no plugin installed) and a fresh npm cache.
 *
 * One substitution: the emulator recipe's port 8089 becomes a free port (this suite runs beside
 * others). A command whose comment says "N API call(s)" makes exactly N writes (create, update,
 * rotate, delete) to the emulator; blocks a README marks "not run here" are run the way the marker
 * says, through the Automation API.
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { cleanNpmEnv, execCommand } from "../../scripts/exec";
import { pulumiBinDir } from "../../scripts/engine";
import { freePort } from "../../scripts/free-port";
import { LocalRegistries, startLocalRegistries } from "../../scripts/local-registries";
import { REPO_ROOT } from "../../scripts/paths";
import { buildPreviousRelease, PREVIOUS_RELEASE, PreviousArtifacts } from "../../scripts/previous-release";
import { buildReleaseArtifacts } from "../../scripts/release-artifacts";
import { waitFor } from "../../scripts/wait-for";
import { textUnder } from "../../scripts/yaml-project";
import { commands, inAnotherTerminal, shellBlocks } from "../support/shell-blocks";

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string }).version;
const KEY = "local-key";
const work = mkdtempSync(join(tmpdir(), "gemini-copied-out-"));
let registries: LocalRegistries;
let baseEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  const artifacts = await buildReleaseArtifacts(join(work, "artifacts"));
  registries = await startLocalRegistries();
  await registries.publish(VERSION, artifacts);
  baseEnv = cleanNpmEnv({
    ...registries.env,
    PULUMI_CONFIG_PASSPHRASE: "copied-out",
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_SKIP_CONFIRMATIONS: "true",
    npm_config_cache: join(work, "npm-cache"),
    npm_config_update_notifier: "false",
    npm_config_audit: "false",
    npm_config_fund: "false",
    // Node 24 and the pulumi command — and no node_modules/.bin of this repository (npm puts it on
    // PATH for `npm test`; the plugin's bin there would be used instead of the released plugin).
    PATH: [dirname(process.execPath), pulumiBinDir(), ...(process.env.PATH ?? "").split(":").filter((p) => !p.includes("node_modules"))].join(":"),
  });
  delete baseEnv.GEMINI_API_KEY;
  delete baseEnv.GOOGLE_API_KEY;
}, 900_000);

afterAll(async () => {
  await registries?.stop();
  // Hundreds of thousands of files (the copies' node_modules, the npm cache): removed in the
  // background rather than holding the suite for minutes.
  spawn("rm", ["-rf", work], { detached: true, stdio: "ignore" }).unref();
});

interface Copy {
  dir: string;
  env: NodeJS.ProcessEnv;
  /** The emulator the README started (its recipe, from the npm registry). */
  emulatorUrl?: string;
  /** Writes the emulator counted, by method. */
  writes(): Promise<Record<string, number>>;
  webhooks(): Promise<number>;
  stop(): Promise<void>;
}

/** The example's folder copied where a user would put it, with its own PULUMI_HOME and backend. */
let copies = 0;
function copyOut(example: string): Copy {
  const root = join(work, `${++copies}`);
  const dir = join(root, example);
  cpSync(join(REPO_ROOT, "examples", example), dir, { recursive: true, filter: (f) => !/\/(node_modules|venv|bin|__pycache__)$/.test(f) && !/\/Pulumi\.[^/]+\.yaml$/.test(f) });
  mkdirSync(join(root, "backend"));
  const env = { ...baseEnv, PULUMI_HOME: join(root, "pulumi-home"), PULUMI_BACKEND_URL: `file://${join(root, "backend")}` };
  const children: ChildProcess[] = [];
  const copy: Copy = {
    dir,
    env,
    async writes() {
      const stats = await admin(copy, "/emulator/v1/stats");
      const calls = stats.calls as Record<string, number>;
      return Object.fromEntries(Object.entries(calls).filter(([method, n]) => method !== "get" && method !== "list" && n > 0));
    },
    async webhooks() {
      return (await admin(copy, "/emulator/v1/stats")).webhooks as number;
    },
    async stop() {
      for (const child of children) {
        if (child.exitCode !== null) continue;
        child.kill("SIGTERM");
        await once(child, "exit");
      }
    },
  };
  (copy as Copy & { children: ChildProcess[] }).children = children;
  return copy;
}

async function admin(copy: Copy, path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${copy.emulatorUrl}${path}`, { headers: { "x-goog-api-key": KEY } });
  assert.equal(res.status, 200, path);
  return (await res.json()) as Record<string, unknown>;
}

const diff = (after: Record<string, number>, before: Record<string, number>) =>
  Object.fromEntries(Object.entries(after).map(([k, n]) => [k, n - (before[k] ?? 0)]).filter(([, n]) => n !== 0));
const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

/**
 * Runs every block of the copy's README that is not marked "not run here", as typed, command by
 * command in the copy's folder; the emulator recipe ("in another terminal") in the background.
 * Returns the commands run and the writes each made.
 */
async function runReadme(copy: Copy): Promise<{ command: string; writes: Record<string, number> }[]> {
  return runReadmeUntil(copy, await freePort());
}

/** runReadme, stopping before the first command `until` matches. */
async function runReadmeUntil(copy: Copy, port: number, until?: RegExp): Promise<{ command: string; writes: Record<string, number> }[]> {
  const readme = readFileSync(join(copy.dir, "README.md"), "utf8");
  const ran: { command: string; writes: Record<string, number> }[] = [];
  for (const block of shellBlocks(readme).filter((b) => !b.skip)) {
    for (const typed of commands(block.code)) {
      if (until?.test(typed)) return ran;
      const command = typed.replaceAll("8089", String(port));
      if (inAnotherTerminal(typed)) {
        const child = spawn("bash", ["-c", `exec ${command.replace(/\s+#.*$/, "")}`], { cwd: copy.dir, env: copy.env, stdio: ["ignore", "pipe", "pipe"] });
        (copy as Copy & { children: ChildProcess[] }).children.push(child);
        let printed = "";
        child.stdout!.on("data", (d: Buffer) => (printed = (printed + d.toString()).slice(-4000)));
        child.stderr!.on("data", (d: Buffer) => (printed = (printed + d.toString()).slice(-4000)));
        const exited = new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`README line ${block.line}: ${typed}\nexited ${code}:\n${printed}`))));
        exited.catch(() => undefined);
        copy.emulatorUrl = `http://127.0.0.1:${port}`;
        // npx installs the emulator from the registry first.
        await Promise.race([waitFor(`README line ${block.line}: the emulator on ${port}`, async () => (await fetch(`${copy.emulatorUrl}/.well-known/jwks.json`).catch(() => undefined))?.status === 200, 180_000, 200), exited]);
        continue;
      }
      const before = copy.emulatorUrl ? await copy.writes() : {};
      const result = await execCommand("bash", ["-e", "-o", "pipefail", "-c", command], { cwd: copy.dir, env: copy.env });
      assert.equal(result.code, 0, `README line ${block.line}: ${typed}\nfailed as typed in a copy of the folder:\n${result.output.slice(-4000)}`);
      const writes = copy.emulatorUrl ? diff(await copy.writes(), before) : {};
      const stated = /#.*?\b(\d+) (?:API )?calls?\b/.exec(typed)?.[1];
      if (stated !== undefined) assert.equal(total(writes), Number(stated), `${typed}\nmade ${JSON.stringify(writes)}`);
      ran.push({ command: typed, writes });
    }
  }
  return ran;
}

/** Every file the backend wrote, with no signing secret or key in it. */
function assertBackendClean(copy: Copy): void {
  const backend = textUnder(copy.env.PULUMI_BACKEND_URL!.slice("file://".length));
  assert.match(backend, /== \S*\/history\//, "the backend was written");
  assert.doesNotMatch(backend, /whsec_[A-Za-z0-9+/=]{8,}/, "a signing secret in plain text in the backend");
  assert.ok(!backend.includes(KEY), "the API key in plain text in the backend");
}

/** The integrity the local npm registry lists for this release of `name`. */
async function registryIntegrity(name: string): Promise<string> {
  const res = await fetch(`${registries.npmUrl}${name}/${VERSION}`);
  assert.equal(res.status, 200, `${name}@${VERSION} in the local registry`);
  return ((await res.json()) as { dist: { integrity: string } }).dist.integrity;
}

const pluginInstalled = (copy: Copy) => existsSync(join(copy.env.PULUMI_HOME!, "plugins", `resource-gemini-v${VERSION}`));

test("no example names a path into this repository (packages by name and version)", () => {
  for (const example of readdirSync(join(REPO_ROOT, "examples"))) {
    for (const file of ["package.json", "requirements.txt", "go.mod", "README.md"]) {
      const path = join(REPO_ROOT, "examples", example, file);
      if (!existsSync(path)) continue;
      assert.doesNotMatch(readFileSync(path, "utf8"), /\.\.\/\.\.\/|"file:/, `examples/${example}/${file}`);
    }
  }
});

test("yaml-webhooks: the README as typed in a copy; the plugin comes from its release URL on the first up", async () => {
  const copy = copyOut("yaml-webhooks");
  try {
    assert.ok(!pluginInstalled(copy));
    const ran = await runReadme(copy);
    assert.ok(pluginInstalled(copy), "the first `pulumi up` installed the gemini plugin from its release URL");
    const up = ran.find((r) => /^pulumi up\b/.test(r.command))!;
    assert.deepEqual(up.writes, { create: 1, rotateSigningSecret: 1 });
    assert.deepEqual(ran.find((r) => r.command.includes("rotationKey"))!.writes, { rotateSigningSecret: 1 });
    assert.deepEqual(ran.find((r) => /^pulumi destroy/.test(r.command))!.writes, { delete: 1 });
    assert.equal(await copy.webhooks(), 0, "destroy leaves nothing");
    assertBackendClean(copy);
  } finally {
    await copy.stop();
  }
}, 600_000);

type Steps = Record<string, { changes: Record<string, number>; outputs: Record<string, { value: unknown; secret: boolean }> }>;

/**
 * Runs a copy's program through the engine with a runner (test/…/programs: the Automation API's inline
 * program, no language host), against the copy's emulator and backend; returns the steps it printed.
 */
async function runThroughEngine(copy: Copy, command: string, runner: string, ...stepNames: string[]): Promise<Steps> {
  const res = await execCommand(command, [runner, copy.dir, join(dirname(copy.dir), "state"), copy.env.PULUMI_HOME!, copy.emulatorUrl!, ...stepNames], {
    env: { ...copy.env, GEMINI_API_KEY: KEY },
  });
  assert.equal(res.code, 0, res.output.slice(-4000));
  return steps(res.stdout);
}

const runTsExample = (copy: Copy, ...stepNames: string[]) => runThroughEngine(copy, process.execPath, join(__dirname, "programs", "run-ts-example.js"), ...stepNames);

/** The steps a runner printed (one JSON line each). */
function steps(stdout: string): Steps {
  return Object.fromEntries(
    stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as { step: string })
      .map((s) => [s.step, s as never]),
  );
}

test("python-webhooks: the SDK from a Python index into the README's virtualenv; the program through the engine with the plugin from its release URL", async () => {
  const copy = copyOut("python-webhooks");
  try {
    const ran = await runReadme(copy);
    assert.match(ran.map((r) => r.command).join("\n"), /pip install/);
    const python = join(copy.dir, "venv", "bin", "python");
    const before = await copy.writes();
    const s = await runThroughEngine(copy, python, join(REPO_ROOT, "test", "plugin", "programs", "run_python_example.py"));
    assert.deepEqual(s.up.changes, { create: 3 });
    assert.deepEqual(s["up-again"].changes, { same: 3 });
    assert.deepEqual(s.rotate.changes, { replace: 1, same: 2 });
    assert.deepEqual(s.destroy.changes, { delete: 3 });
    assert.equal(s.up.outputs.signingSecrets.secret, true);
    assert.ok(pluginInstalled(copy), "the engine installed the plugin the SDK pins, from its release URL");
    assert.deepEqual(diff(await copy.writes(), before), { create: 1, rotateSigningSecret: 2, delete: 1 });
    assert.equal(await copy.webhooks(), 0);
    assertBackendClean(copy); // PULUMI_BACKEND_URL, the backend the user logged in to
  } finally {
    await copy.stop();
  }
}, 900_000);

test("go-webhooks: the SDK through a Go module proxy (no replace); its go test runs the program through the engine", async () => {
  const copy = copyOut("go-webhooks");
  try {
    assert.doesNotMatch(readFileSync(join(copy.dir, "go.mod"), "utf8"), /^replace /m);
    const ran = await runReadme(copy);
    const goTest = ran.find((r) => r.command.includes("go test"));
    assert.ok(goTest, "the README's go test ran");
    assert.deepEqual(goTest.writes, { create: 1, rotateSigningSecret: 1, delete: 1 });
    assert.ok(pluginInstalled(copy), "the engine installed the plugin the SDK pins, from its release URL");
    assert.match(readFileSync(join(copy.dir, "go.sum"), "utf8"), new RegExp(`pulumi-gemini-webhooks/sdk/go v${VERSION.replaceAll(".", "\\.")} h1:`), "go.sum pins the module as the proxy served it");
  } finally {
    await copy.stop();
  }
}, 900_000);

test("quickstart: a project of its own — npm install from the registry, built, deployed through the engine: 1 call to create, 0 for a no-op up, 1 to rotate, 1 to destroy", async () => {
  const copy = copyOut("quickstart");
  try {
    assert.ok(existsSync(join(copy.dir, "Pulumi.yaml")) && existsSync(join(copy.dir, "package.json")));
    await runReadme(copy);
    const installed = JSON.parse(readFileSync(join(copy.dir, "node_modules", "pulumi-gemini-webhooks", "package.json"), "utf8")) as { version: string };
    assert.equal(installed.version, VERSION);
    // Only the local registry has this build: its integrity is the published tarball's.
    const lock = JSON.parse(readFileSync(join(copy.dir, "package-lock.json"), "utf8")) as { packages: Record<string, { integrity?: string }> };
    assert.equal(lock.packages["node_modules/pulumi-gemini-webhooks"].integrity, await registryIntegrity("pulumi-gemini-webhooks"));
    const before = await copy.writes();
    const s = await runTsExample(copy);
    // The stack and the webhook; setting rotationKey adds the rotation.
    assert.deepEqual(s.up.changes, { create: 2 });
    assert.deepEqual(s["up-again"].changes, { same: 2 });
    assert.deepEqual(s.rotate.changes, { create: 1, same: 2 });
    assert.deepEqual(s.destroy.changes, { delete: 3 });
    assert.equal(s.up.outputs.currentSecret.secret, true);
    assert.deepEqual(diff(await copy.writes(), before), { create: 1, rotateSigningSecret: 1, delete: 1 });
    assertBackendClean(copy);
  } finally {
    await copy.stop();
  }
}, 900_000);

test.each(["docker-receiver", "durable-receiver", "dynamic-webhooks", "kubernetes-receiver", "python-backend"])(
  "%s: npm install from the registry, then the README's runnable blocks and the stack's own test (npm test), or a typecheck where it has none",
  async (example) => {
    const copy = copyOut(example);
    try {
      await runReadme(copy);
      const check = existsSync(join(copy.dir, "index.test.ts")) ? "npm test" : "npx tsc --noEmit -p .";
      const install = await execCommand("bash", ["-e", "-c", `npm install && ${check}`], { cwd: copy.dir, env: copy.env });
      assert.equal(install.code, 0, install.output.slice(-4000));
      const manifest = JSON.parse(readFileSync(join(copy.dir, "package.json"), "utf8")) as { dependencies: Record<string, string> };
      for (const name of Object.keys(manifest.dependencies).filter((n) => n.startsWith("gemini-webhooks") || n === "pulumi-gemini-webhooks")) {
        assert.equal((JSON.parse(readFileSync(join(copy.dir, "node_modules", name, "package.json"), "utf8")) as { version: string }).version, VERSION, name);
      }
    } finally {
      await copy.stop();
    }
  },
  900_000,
);

/**
 * Upgrades as pulumi/providertest runs them: a stack deployed with the previous release (its
 * artifacts built from its commit and published into the same registries), then moved to this one
 * the way a user moves — the package bumped, the plugin's declaration bumped — previews no change and
 * updates with 0 writes; then one rotation makes exactly 1.
 */
describe(`upgrade from ${PREVIOUS_RELEASE.version}`, () => {
  let previous: PreviousArtifacts;
  beforeAll(async () => {
    previous = buildPreviousRelease();
    await registries.publish(previous.version, previous, "previous");
  }, 1_200_000);

  test("TypeScript (dynamic resources): the quickstart deployed with the previous package, then npm install of this one", async () => {
    const copy = copyOut("quickstart");
    try {
      const manifest = join(copy.dir, "package.json");
      writeFileSync(manifest, readFileSync(manifest, "utf8").replace(`"pulumi-gemini-webhooks": "${VERSION}"`, `"pulumi-gemini-webhooks": "${previous.version}"`));
      await runReadme(copy);
      assert.deepEqual((await runTsExample(copy, "up")).up.changes, { create: 2 });

      const bump = await execCommand("bash", ["-e", "-c", `npm install pulumi-gemini-webhooks@${VERSION} && npm run build`], { cwd: copy.dir, env: copy.env });
      assert.equal(bump.code, 0, bump.output.slice(-4000));
      const writesBefore = await copy.writes();
      const s = await runTsExample(copy, "preview", "up");
      assert.deepEqual(s.preview.changes, { same: 2 }, "the preview after the upgrade");
      assert.deepEqual(s.up.changes, { same: 2 });
      assert.deepEqual(diff(await copy.writes(), writesBefore), {}, "the up after the upgrade made no write");
      await runTsExample(copy, "rotate", "destroy");
      assert.deepEqual(diff(await copy.writes(), writesBefore), { rotateSigningSecret: 1, delete: 1 });
    } finally {
      await copy.stop();
    }
  }, 900_000);

  test("YAML (the plugin): deployed with the previous plugin from its release URL, then the package declaration bumped", async () => {
    const copy = copyOut("yaml-webhooks");
    try {
      const sdks = join(copy.dir, "sdks", "gemini");
      const current = readFileSync(join(sdks, `gemini-${VERSION}.yaml`), "utf8");
      rmSync(join(sdks, `gemini-${VERSION}.yaml`));
      writeFileSync(join(sdks, `gemini-${previous.version}.yaml`), current.replace(`version: ${VERSION}`, `version: ${previous.version}`));
      const port = await freePort();
      const ran = await runReadmeUntil(copy, port, /^pulumi stack output/);
      assert.deepEqual(ran.find((r) => /^pulumi up\b/.test(r.command))!.writes, { create: 1, rotateSigningSecret: 1 });
      assert.ok(existsSync(join(copy.env.PULUMI_HOME!, "plugins", `resource-gemini-v${previous.version}`)), "the previous plugin came from its release URL");

      // What `pulumi package add gemini@<version>` does to the project: the declaration, bumped.
      rmSync(join(sdks, `gemini-${previous.version}.yaml`));
      writeFileSync(join(sdks, `gemini-${VERSION}.yaml`), current);
      const before = await copy.writes();
      const sh = (command: string) => execCommand("bash", ["-e", "-c", command], { cwd: copy.dir, env: copy.env });
      const preview = await sh("pulumi preview --expect-no-changes");
      assert.equal(preview.code, 0, preview.output.slice(-4000));
      const up = await sh("pulumi up");
      assert.equal(up.code, 0, up.output.slice(-4000));
      assert.deepEqual(diff(await copy.writes(), before), {}, `the up after the upgrade made no write:\n${up.stdout.slice(-2000)}`);
      assert.ok(pluginInstalled(copy), "this release's plugin came from its release URL");
      const rotate = await sh("pulumi config set rotationKey 2027-01 && pulumi up");
      assert.equal(rotate.code, 0, rotate.output.slice(-4000));
      assert.deepEqual(diff(await copy.writes(), before), { rotateSigningSecret: 1 });
      assert.equal((await sh("pulumi destroy")).code, 0);
    } finally {
      await copy.stop();
    }
  }, 900_000);
});
