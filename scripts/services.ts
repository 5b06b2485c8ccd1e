/**
 * What the full test run needs besides Node: the commands in TOOLS (redis-server, promtool,
 * docker-registry, haproxy), a
 * running Docker engine (the container suites) and `go` on PATH (the Pulumi CLI build, the SDK
 * suites). Where this runs as root with `apt-get`, a missing piece is installed or started, with one
 * line saying so; elsewhere the run stops before any test, printing the exact command to type.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { delimiter, join } from "node:path";
import { REPO_ROOT } from "./paths";

const has = (command: string) => spawnSync("sh", ["-c", `command -v ${command}`], { stdio: "ignore" }).status === 0;
const isRoot = () => process.getuid?.() === 0;
const canApt = () => isRoot() && has("apt-get");

function say(line: string): void {
  console.log(`[npm test] ${line}`);
}

/** The Debian packages installed in one apt-get run (one index update, however many are missing). */
function aptInstall(packages: { pkg: string; why: string }[]): void {
  for (const { pkg, why } of packages) say(`installing ${pkg} with apt-get (${why})`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  execFileSync("apt-get", ["update", "-qq"], { stdio: "ignore", env });
  execFileSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...packages.map((p) => p.pkg)], { stdio: "ignore", env });
}

/** Commands the suites run, the Debian package holding each, why, and what to type elsewhere. */
const TOOLS = [
  { command: "redis-server", pkg: "redis-server", why: "the Redis suites start their own redis-server", elsewhere: "`sudo apt-get install redis-server` (Debian/Ubuntu) or `brew install redis` (macOS)" },
  { command: "promtool", pkg: "prometheus", why: "promtool checks and unit-tests the receiver's alert rules", elsewhere: "`sudo apt-get install prometheus` (Debian/Ubuntu) or a Prometheus release's promtool on PATH" },
  { command: "docker-registry", pkg: "docker-registry", why: "the example suites pull the images by tag from a local registry", elsewhere: "`sudo apt-get install docker-registry` (Debian/Ubuntu), or the distribution registry's `registry` binary on PATH" },
  { command: "haproxy", pkg: "haproxy", why: "the durable-receiver example's load balancer image is built from it", elsewhere: "`sudo apt-get install haproxy` (Debian/Ubuntu) or `brew install haproxy` (macOS)" },
];

/** Returns the problems that stop the run (each with its command); fixes what it can. */
export function ensureServices(): string[] {
  const problems: string[] = [];
  if (!has("go") && existsSync("/usr/local/go/bin/go")) process.env.PATH = [process.env.PATH, "/usr/local/go/bin"].join(delimiter);
  const missing = TOOLS.filter((tool) => !has(tool.command));
  if (missing.length && canApt()) aptInstall(missing);
  else for (const tool of missing) problems.push(`${tool.command} is not installed: ${tool.elsewhere}`);
  if (spawnSync("docker", ["info"], { stdio: "ignore" }).status !== 0) {
    if (isRoot() && (has("dockerd") || has("apt-get"))) {
      say("starting a Docker engine (the container suites need one)");
      const started = spawnSync("bash", [join(REPO_ROOT, "scripts", "start-docker.sh")], { stdio: "inherit" });
      if (started.status !== 0) problems.push("the Docker engine did not start: see the lines above, or start it yourself (`sudo systemctl start docker`)");
    } else {
      problems.push("no Docker engine answers `docker info`: start one (`sudo systemctl start docker`, or Docker Desktop)");
    }
  }
  if (!has("go")) problems.push("go is not on PATH (the Pulumi CLI build and the SDK suites need it): install Go 1.22 or newer from https://go.dev/dl/");
  if (!has("python3")) problems.push("python3 is not on PATH (the Python SDK suites need it): `sudo apt-get install python3 python3-venv`");
  return problems;
}
