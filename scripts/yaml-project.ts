/**
 * The real `pulumi` command over a YAML project (`runtime: yaml`, run by pulumi-language-yaml beside
 * the CLI), with the gemini plugin installed from the release tarball into a private PULUMI_HOME,
 * a `file://` backend, and nothing fetched from the internet.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pulumiBinDir } from "./engine";
import { PLUGIN_VERSION, pluginTarball } from "./bundle-plugin";
import { CommandResult, execCommand } from "./exec";


export class PulumiProject {
  readonly root: string;
  readonly dir: string;
  readonly backendDir: string;
  readonly home: string;
  /** Everything the commands printed, for leak scans (not what `--show-secrets` asked for). */
  readonly transcript: string[] = [];

  private constructor(root: string, private readonly env: Record<string, string>) {
    this.root = root;
    this.dir = join(root, "project");
    this.backendDir = join(root, "backend");
    this.home = join(root, "pulumi-home");
  }

  /** A project from `programDir` (copied, so stack files stay out of the repository) or from `yaml`. */
  static async create(
    source: { programDir?: string; yaml?: string },
    env: Record<string, string> = {},
    /** `tarball` (default): install the release tarball; `path`: the plugin is found on PATH (env.PATH). */
    plugin: "tarball" | "path" = "tarball",
  ): Promise<PulumiProject> {
    const root = mkdtempSync(join(tmpdir(), "gemini-yaml-"));
    const project = new PulumiProject(root, env);
    mkdirSync(project.backendDir, { recursive: true });
    mkdirSync(project.home, { recursive: true });
    if (source.programDir) cpSync(source.programDir, project.dir, { recursive: true });
    else mkdirSync(project.dir, { recursive: true });
    if (source.yaml) project.writeProgram(source.yaml);
    if (plugin === "tarball") {
      const install = await project.run(["plugin", "install", "resource", "gemini", PLUGIN_VERSION, "--file", pluginTarball()]);
      if (install.code !== 0) throw new Error(`plugin install failed:\n${install.output}`);
    }
    return project;
  }

  writeProgram(yaml: string): void {
    writeFileSync(join(this.dir, "Pulumi.yaml"), yaml);
  }

  readProgram(): string {
    return readFileSync(join(this.dir, "Pulumi.yaml"), "utf8");
  }

  async run(args: string[], extraEnv: Record<string, string> = {}): Promise<CommandResult> {
    const env: Record<string, string> = {
      // The plugin's launcher runs `node`: this Node, first on PATH.
      PATH: [pulumiBinDir(), dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin"].join(":"),
      HOME: this.root,
      PULUMI_HOME: this.home,
      PULUMI_BACKEND_URL: `file://${this.backendDir}`,
      PULUMI_CONFIG_PASSPHRASE: "yaml-test-passphrase",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      // Only the installed plugin counts, unless a test puts one on PATH on purpose.
      ...(this.env.PATH ? {} : { PULUMI_IGNORE_AMBIENT_PLUGINS: "true" }),
      ...this.env,
      ...extraEnv,
    };
    const result = await execCommand(join(pulumiBinDir(), "pulumi"), [...args, "--non-interactive", "--color", "never"], { cwd: this.dir, env });
    // What the test asked to reveal (`--show-secrets`, a `config set --secret` value) is left out.
    const shown = args.includes("--secret") ? args.slice(0, -1).concat("<secret>") : args;
    if (!args.includes("--show-secrets")) this.transcript.push(`$ pulumi ${shown.join(" ")}\n${result.output}`);
    return result;
  }

  /** Runs a command that must succeed, and returns its output. */
  async ok(args: string[], extraEnv: Record<string, string> = {}): Promise<CommandResult> {
    const result = await this.run(args, extraEnv);
    if (result.code !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${result.code}:\n${result.output}`);
    return result;
  }

  async outputs(): Promise<Record<string, unknown>> {
    return JSON.parse((await this.ok(["stack", "output", "--json", "--show-secrets"])).stdout);
  }

  /** The checkpoint's resources (secrets still encrypted). */
  async resources(): Promise<{ type: string; urn: string; id?: string; inputs?: Record<string, unknown>; outputs?: Record<string, unknown> }[]> {
    return JSON.parse((await this.ok(["stack", "export"])).stdout).deployment.resources ?? [];
  }

  remove(): void {
    rmSync(this.root, { recursive: true, force: true });
  }

  /** Every file under the backend and the project (state, backups, history, stack config), concatenated. */
  backendFiles(): string {
    return `${textUnder(this.backendDir)}\n${textUnder(this.dir)}`;
  }
}

/** Every file under `dir`, each headed by `== <path>`, concatenated: what a leak scan reads. */
export function textUnder(dir: string): string {
  const texts: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else texts.push(`== ${path}\n${readFileSync(path, "utf8")}`);
    }
  };
  walk(dir);
  return texts.join("\n");
}
