/**
 * The registries users install from, run on loopback as real parts (each its ecosystem's own server)
 * so a test or `release:check` can publish a release into them and then install it by name and
 * version, as a user outside this repository does:
 *   npm     Verdaccio, our four packages published to it, everything else proxied from the machine's
 *           npm registry (its uplink);
 *   Python  pypiserver serving the wheel and sdist (`PIP_INDEX_URL`; Pulumi's SDK and other
 *           third-party packages from PyPI through `PIP_EXTRA_INDEX_URL`);
 *   Go      a module proxy tree (`GOPROXY=file://…`, the layout the go command reads: `@v/list`,
 *           `.info`, `.mod`, `.zip`) in front of the usual proxy;
 *   plugin  an HTTP server laid out like the GitHub release the plugin's `pluginDownloadURL` names,
 *           reached through Pulumi's documented override (`PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES`).
 * `env` holds exactly the standard settings a user (or their CI) points at a private registry.
 * Container images: scripts/registry.ts (Debian's docker-registry).
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { GO_MODULE, PLUGIN_DOWNLOAD_URL } from "pulumi-gemini-webhooks/plugin/schema";
import { cleanNpmEnv } from "./exec";
import { freePort } from "./free-port";
import { CACHE_DIR } from "./paths";
import { pythonVenv } from "./python-venv";
import { waitFor } from "./wait-for";

/** Verdaccio 6.8 runs on Node 20 and newer; installed once into the cache. */
export const VERDACCIO_VERSION = "6.8.0";
export const PYPISERVER_VERSION = "2.4.2";
/** The names we publish (everything else is proxied). */
export const NPM_PACKAGES = ["pulumi-gemini-webhooks", "gemini-webhooks-client", "gemini-webhooks-emulator", "gemini-webhooks-receiver"];

export interface ReleaseArtifacts {
  /** `npm pack` tarballs. */
  npm: string[];
  /** Wheel and sdist (a release that shipped none leaves them out). */
  python?: string[];
  /** The generated Go SDK's folder (its go.mod names GO_MODULE). */
  goSdkDir?: string;
  /** The plugin tarballs, named as the release names them. */
  plugin: string[];
}

export interface LocalRegistries {
  npmUrl: string;
  pypiUrl: string;
  goproxyDir: string;
  pluginUrl: string;
  /** npm_config_registry, PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, GOPROXY, GONOSUMDB, GOFLAGS, PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES. */
  env: Record<string, string>;
  /** Publishes a release into every registry (npm: under `tag`, default latest — an older release needs another). */
  publish(version: string, artifacts: ReleaseArtifacts, tag?: string): Promise<void>;
  stop(): Promise<void>;
}

function verdaccioBin(): string {
  const dir = join(CACHE_DIR, `verdaccio-${VERDACCIO_VERSION}`);
  const bin = join(dir, "node_modules", ".bin", "verdaccio");
  if (!existsSync(join(dir, ".complete"))) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "verdaccio-host", private: true }));
    execFileSync("npm", ["install", "--no-audit", "--no-fund", `verdaccio@${VERDACCIO_VERSION}`], { cwd: dir, stdio: "pipe", timeout: 600_000 });
    writeFileSync(join(dir, ".complete"), "");
  }
  return bin;
}

const upstreamNpm = () => execFileSync("npm", ["config", "get", "registry"], { encoding: "utf8" }).trim() || "https://registry.npmjs.org/";
const upstreamGoproxy = () => execFileSync("go", ["env", "GOPROXY"], { encoding: "utf8" }).trim() || "https://proxy.golang.org,direct";

function started(name: string, child: ChildProcess, logFile: string): Promise<never> {
  return new Promise((_, reject) =>
    child.once("exit", (code) => reject(new Error(`${name} exited ${code} before it answered:\n${logFile && existsSync(logFile) ? readFileSync(logFile, "utf8").slice(-2000) : ""}`))),
  );
}

async function answering(name: string, url: string, child: ChildProcess, logFile: string): Promise<void> {
  await Promise.race([waitFor(`${name} answering ${url}`, async () => (await fetch(url).catch(() => undefined))?.ok === true, 120_000, 200), started(name, child, logFile)]);
}

/**
 * A Go module zip as the go command expects it (`<module>@<version>/<file>` for every file of the
 * module, fixed timestamps, sorted), written with Python's zipfile — the same bytes every time.
 */
function writeModuleZip(sourceDir: string, module: string, version: string, out: string): void {
  const script = `
import os, sys, zipfile
src, prefix, out = sys.argv[1:4]
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for root, dirs, files in os.walk(src):
        dirs.sort()
        for f in sorted(files):
            path = os.path.join(root, f)
            info = zipfile.ZipInfo(prefix + "/" + os.path.relpath(path, src).replace(os.sep, "/"), (1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with open(path, "rb") as fh:
                z.writestr(info, fh.read())
`;
  execFileSync("python3", ["-c", script, sourceDir, `${module}@${version}`, out], { stdio: "pipe" });
}

/** The go command's case-encoding of a module path (`!x` for an upper-case X). */
const escapeModule = (path: string) => path.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`);

interface Started {
  child: ChildProcess;
  url: string;
}

/** Verdaccio: anonymous publish for our names, the machine's npm registry as uplink for the rest. */
async function startVerdaccio(dir: string): Promise<Started & { port: number }> {
  const port = await freePort();
  const config = join(dir, "verdaccio.yaml");
  const ours = NPM_PACKAGES.map((name) => `  '${name}':\n    access: $all\n    publish: $anonymous\n`).join("");
  writeFileSync(
    config,
    `storage: ${join(dir, "npm-storage")}\nauth:\n  htpasswd:\n    file: ${join(dir, "htpasswd")}\n    max_users: -1\n` +
      `uplinks:\n  upstream:\n    url: ${upstreamNpm()}\n    timeout: 120s\n` +
      `packages:\n${ours}  '**':\n    access: $all\n    proxy: upstream\n` +
      `server:\n  keepAliveTimeout: 60\nlog: { type: file, path: ${join(dir, "verdaccio.log")}, level: warn }\n`,
  );
  const child = spawn(process.execPath, [verdaccioBin(), "--config", config, "--listen", `127.0.0.1:${port}`], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}/`;
  await answering("Verdaccio", `${url}-/ping`, child, join(dir, "verdaccio.log"));
  return { child, url, port };
}

/** pypiserver over `folder`, no fallback (third-party packages come from PIP_EXTRA_INDEX_URL). */
async function startPypiserver(dir: string, folder: string): Promise<Started> {
  const port = await freePort();
  const bin = join(dirname(await pythonVenv([`pypiserver==${PYPISERVER_VERSION}`])), "pypi-server");
  const log = join(dir, "pypiserver.log");
  const child = spawn(bin, ["run", "-p", String(port), "-i", "127.0.0.1", "-a", ".", "-P", ".", "--disable-fallback", "--log-file", log, folder], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}/simple/`;
  await answering("pypiserver", url, child, log);
  return { child, url };
}

/** A static server (Python's http.server, its own process) over a folder laid out like GitHub's release downloads. */
async function startReleaseServer(root: string): Promise<Started> {
  mkdirSync(join(root, "releases", "download"), { recursive: true });
  const port = await freePort();
  const child = spawn("python3", ["-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", root], { stdio: "ignore" });
  const url = `http://127.0.0.1:${port}/releases/download`;
  await answering("the plugin's release server", `${url}/`, child, "");
  return { child, url };
}

/** A Go module proxy tree (`file://`): list, .info, .mod and .zip of `version`. */
function publishGoModule(goproxyDir: string, sdkDir: string, version: string): void {
  const moduleDir = join(goproxyDir, escapeModule(GO_MODULE), "@v");
  mkdirSync(moduleDir, { recursive: true });
  writeModuleZip(sdkDir, GO_MODULE, `v${version}`, join(moduleDir, `v${version}.zip`));
  forgetCachedModule(version, join(moduleDir, `v${version}.zip`));
  writeFileSync(join(moduleDir, `v${version}.mod`), readFileSync(join(sdkDir, "go.mod")));
  writeFileSync(join(moduleDir, `v${version}.info`), JSON.stringify({ Version: `v${version}`, Time: "2026-12-01T00:00:00Z" }));
  writeFileSync(join(moduleDir, "list"), `v${version}\n`);
}

export async function startLocalRegistries(): Promise<LocalRegistries> {
  const dir = mkdtempSync(join(tmpdir(), "gemini-registries-"));
  const children: ChildProcess[] = [];
  const stop = async () => {
    for (const child of children) {
      if (child.exitCode !== null) continue;
      child.kill("SIGKILL");
      await once(child, "exit");
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const npm = await startVerdaccio(dir);
    children.push(npm.child);
    const pypiDir = join(dir, "pypi");
    mkdirSync(pypiDir);
    const pypi = await startPypiserver(dir, pypiDir);
    children.push(pypi.child);
    const pluginRoot = join(dir, "plugin-releases");
    const plugin = await startReleaseServer(pluginRoot);
    children.push(plugin.child);
    const goproxyDir = join(dir, "goproxy");
    mkdirSync(goproxyDir);
    const env = {
      npm_config_registry: npm.url,
      PIP_INDEX_URL: pypi.url,
      PIP_EXTRA_INDEX_URL: process.env.PIP_INDEX_URL ?? "https://pypi.org/simple/",
      GOPROXY: `file://${goproxyDir},${upstreamGoproxy()}`,
      GONOSUMDB: GO_MODULE.split("/").slice(0, 2).join("/"),
      GOFLAGS: "-mod=mod",
      // An unanchored Go regexp over the URL the engine would download from (the schema's
      // pluginDownloadURL); ${VERSION} is filled in by the engine.
      PULUMI_PLUGIN_DOWNLOAD_URL_OVERRIDES: `^${PLUGIN_DOWNLOAD_URL.replace(/[.]/g, "\\.")}=${plugin.url}/v\${VERSION}`,
    };
    return {
      npmUrl: npm.url,
      pypiUrl: pypi.url,
      goproxyDir,
      pluginUrl: plugin.url,
      env,
      async publish(version, artifacts, tag = "latest") {
        const npmrc = join(dir, "publish.npmrc");
        // Verdaccio lets anyone publish our names; npm still wants a token to send.
        writeFileSync(npmrc, `registry=${npm.url}\n//127.0.0.1:${npm.port}/:_authToken=anonymous\n`);
        for (const tarball of artifacts.npm) {
          execFileSync("npm", ["publish", tarball, "--userconfig", npmrc, "--registry", npm.url, "--tag", tag], { stdio: "pipe", timeout: 120_000, env: cleanNpmEnv() });
        }
        for (const file of artifacts.python ?? []) writeFileSync(join(pypiDir, basename(file)), readFileSync(file));
        if (artifacts.goSdkDir) publishGoModule(goproxyDir, artifacts.goSdkDir, version);
        const releaseDir = join(pluginRoot, "releases", "download", `v${version}`);
        mkdirSync(releaseDir, { recursive: true });
        for (const tarball of artifacts.plugin) writeFileSync(join(releaseDir, basename(tarball)), readFileSync(tarball));
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The go command keeps what it downloaded by version: a v0.4.0 of our module fetched before, from
 * another build of the same version, would be used instead of the one just published. Forgotten when
 * its bytes differ from `zip` (an identical one stays: another suite of this run may be reading it).
 */
function forgetCachedModule(version: string, zip: string): void {
  const modcache = execFileSync("go", ["env", "GOMODCACHE"], { encoding: "utf8" }).trim();
  const cachedZip = join(modcache, "cache", "download", escapeModule(GO_MODULE), "@v", `v${version}.zip`);
  if (existsSync(cachedZip) && readFileSync(cachedZip).equals(readFileSync(zip))) return;
  for (const path of [join(modcache, `${escapeModule(GO_MODULE)}@v${version}`), join(modcache, "cache", "download", escapeModule(GO_MODULE), "@v")]) {
    if (!existsSync(path)) continue;
    execFileSync("chmod", ["-R", "u+w", path]);
    rmSync(path, { recursive: true, force: true });
  }
}
