/**
 * `npm run sdks`: the gemini package's SDKs for Node.js, Python, Go and .NET, generated from the
 * schema the plugin itself serves (`pulumi package get-schema` launches it and asks). Written to
 * dist/sdks/<language>, with dist/sdks/schema.json beside them.
 *
 * Generation runs tools/gen-sdk, small Go programs over Pulumi's code generators — what each
 * language host runs behind `pulumi package gen-sdk`; those hosts are not served by the Go module
 * proxy here. It is built once per source change and cached like the CLI.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pulumiBinDir } from "./engine";
import { PLUGIN_RELEASE_DIR } from "./bundle-plugin";
import { CACHE_DIR, REPO_ROOT } from "./paths";

export const SDK_LANGUAGES = ["nodejs", "python", "go", "dotnet"] as const;
export const SDKS_DIR = join(REPO_ROOT, "dist", "sdks");
const TOOL_DIR = join(REPO_ROOT, "tools", "gen-sdk");

/**
 * The generator builds: `current` (Node.js, Python, Go, from the CLI's Pulumi release) and `dotnet`
 * (the .NET generator, last in pulumi/pulumi at v3.206.0). Each is built once per source change.
 */
const BUILDS = { current: ["nodejs", "python", "go"], dotnet: ["dotnet"] } as const;

export function genSdkTool(build: keyof typeof BUILDS): string {
  const hash = createHash("sha256");
  for (const file of [`${build}/main.go`, `${build}/go.mod`, `${build}/go.sum`, "sdkgen/sdkgen.go", "sdkgen/go.mod"]) {
    hash.update(readFileSync(join(TOOL_DIR, file)));
  }
  const bin = join(CACHE_DIR, `gen-sdk-${build}-${hash.digest("hex").slice(0, 12)}`, "gen-sdk");
  if (!existsSync(bin)) {
    try {
      execFileSync("go", ["version"], { stdio: "ignore" });
    } catch {
      throw new Error("Generating the SDKs needs the Go toolchain (`go`) on PATH: https://go.dev/doc/install");
    }
    process.stderr.write(`[sdks] building tools/gen-sdk/${build} (Pulumi's code generators; first run only, ~1 min)\n`);
    execFileSync("go", ["build", "-trimpath", "-o", bin, "."], {
      cwd: join(TOOL_DIR, build),
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, GOFLAGS: "-mod=mod" },
    });
  }
  return bin;
}

/** The schema as the plugin serves it, through the real CLI. */
export function pluginSchema(): string {
  return execFileSync(join(pulumiBinDir(), "pulumi"), ["package", "get-schema", join(PLUGIN_RELEASE_DIR, "stage", "pulumi-resource-gemini")], {
    encoding: "utf8",
    env: { ...process.env, PATH: `${pulumiBinDir()}:${join(process.execPath, "..")}:${process.env.PATH ?? ""}`, PULUMI_SKIP_UPDATE_CHECK: "true" },
    stdio: ["ignore", "pipe", "inherit"],
  });
}

export function generateSdks(outDir = SDKS_DIR): string {
  mkdirSync(outDir, { recursive: true });
  const schemaFile = join(outDir, "schema.json");
  writeFileSync(schemaFile, pluginSchema());
  for (const [build, languages] of Object.entries(BUILDS)) {
    execFileSync(genSdkTool(build as keyof typeof BUILDS), [schemaFile, outDir, ...languages], { stdio: ["ignore", "inherit", "inherit"] });
  }
  // Pulumi's Python generator writes the README into the package directory while its pyproject.toml
  // names `README.md` beside itself: without this copy, building or installing from source says the
  // readme is missing.
  copyFileSync(join(outDir, "python", "pulumi_gemini", "README.md"), join(outDir, "python", "README.md"));
  requireGeneratorsGoSdk(join(outDir, "go", "go.mod"));
  return outDir;
}

/**
 * Pulumi's Go generator writes a fixed `require github.com/pulumi/pulumi/sdk/v3 v3.269.0` into
 * go.mod, but the code it writes is for its own release's SDK (3.274's `ExistsResource` takes a
 * StringInput; 3.269's an IDInput): a user who `go get`s the SDK into a new module got 3.269 by
 * minimal version selection and a compile error. The SDK requires the Go SDK of the generator's release.
 */
function requireGeneratorsGoSdk(goMod: string): void {
  const generator = /github\.com\/pulumi\/pulumi\/sdk\/v3 (v\S+)/.exec(readFileSync(join(TOOL_DIR, "current", "go.mod"), "utf8"))?.[1];
  if (!generator) throw new Error("tools/gen-sdk/current/go.mod names no github.com/pulumi/pulumi/sdk/v3 version");
  const text = readFileSync(goMod, "utf8");
  const rewritten = text.replace(/^(require github\.com\/pulumi\/pulumi\/sdk\/v3) v\S+$/m, `$1 ${generator}`);
  if (rewritten === text && !text.includes(`sdk/v3 ${generator}`)) throw new Error(`${goMod}: no require of github.com/pulumi/pulumi/sdk/v3 to set`);
  writeFileSync(goMod, rewritten);
}

if (require.main === module) {
  const out = generateSdks();
  process.stdout.write(`SDKs written to ${out}/{${SDK_LANGUAGES.join(",")}}\n`);
}
