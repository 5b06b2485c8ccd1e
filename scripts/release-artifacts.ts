/**
 * The artifacts a release publishes, built from this checkout into a folder of their own (so a test
 * can build and publish them while `release:check` rewrites dist/release/): the four npm tarballs,
 * the plugin tarballs, the generated SDKs, the Python SDK's wheel and sdist. Needs `npm run build`.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanNpmEnv } from "./exec";
import { packPlugin, sourceDateEpoch } from "./bundle-plugin";
import { generateSdks } from "./gen-sdks";
import { REPO_ROOT } from "./paths";
import { pythonVenv } from "./python-venv";
import type { ReleaseArtifacts } from "./local-registries";

export const WORKSPACES = ["client", "provider", "emulator", "receiver"] as const;
export const PYTHON_BUILD_VERSION = "1.3.0";

/** `python -m build` of a generated Python SDK into `outDir` (a copy is built: a build leaves build/ and *.egg-info behind). */
export async function buildPythonDist(sdkDir: string, outDir: string): Promise<string[]> {
  mkdirSync(outDir, { recursive: true });
  const source = mkdtempSync(join(tmpdir(), "gemini-python-sdk-"));
  try {
    cpSync(sdkDir, source, { recursive: true, filter: (f) => !/\/(build|dist|[^/]*\.egg-info)$/.test(f) });
    const builder = await pythonVenv([`build==${PYTHON_BUILD_VERSION}`]);
    // SOURCE_DATE_EPOCH: the wheel's entries carry the commit's time, not the copy's, so two builds agree.
    execFileSync(builder, ["-m", "build", "--sdist", "--wheel", "--outdir", outDir, source], {
      env: { ...process.env, SOURCE_DATE_EPOCH: String(sourceDateEpoch()) },
      stdio: "pipe",
      maxBuffer: 64 * 1024 * 1024,
    });
  } finally {
    rmSync(source, { recursive: true, force: true });
  }
  return readdirSync(outDir).filter((f) => f.endsWith(".whl") || f.endsWith(".tar.gz")).map((f) => join(outDir, f));
}

/** Every artifact of this checkout's version, built into `outDir`. */
export async function buildReleaseArtifacts(outDir: string): Promise<ReleaseArtifacts> {
  mkdirSync(join(outDir, "npm"), { recursive: true });
  const env = cleanNpmEnv();
  const packed = execFileSync("npm", ["pack", ...WORKSPACES.flatMap((w) => ["--workspace", w]), "--pack-destination", join(outDir, "npm"), "--json"], { cwd: REPO_ROOT, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  const npm = (JSON.parse(packed) as { filename: string }[]).map((p) => join(outDir, "npm", p.filename));
  const plugin = packPlugin(join(outDir, "plugin"));
  const sdks = generateSdks(join(outDir, "sdks"));
  const python = await buildPythonDist(join(sdks, "python"), join(outDir, "python"));
  return { npm, plugin, python, goSdkDir: join(sdks, "go") };
}
