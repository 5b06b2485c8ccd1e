/**
 * The real Docker engine for the container suites: a clear failure when none runs (these suites
 * never skip), and the receiver image built once per test process from receiver/Dockerfile on a
 * local base image (no registry here: scripts/build-base-image.sh imports one).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../../scripts/paths";
import { Registry, releaseAndPull, startRegistry } from "../../scripts/registry";

export const RECEIVER_IMAGE = "gemini-webhooks-receiver:test";
export const EMULATOR_IMAGE = "gemini-webhooks-emulator:test";

export function docker(args: string[], input?: string): string {
  return execFileSync("docker", args, { cwd: REPO_ROOT, encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"], timeout: 300_000 }).trim();
}

export function requireDocker(): void {
  const info = spawnSync("docker", ["info", "--format", "{{.ServerVersion}}"], { encoding: "utf8" });
  if (info.status !== 0) {
    throw new Error(
      "The container suites need a running Docker engine and none answered (`docker info` failed). " +
        "Start one (e.g. `bash scripts/start-docker.sh`, which installs Debian's docker.io when missing) and run the tests again.",
    );
  }
}

const built = new Set<string>();

/** Builds a package's image from its Dockerfile on the local base (after `npm run build`, which bundles dist/image/). */
function buildImage(tag: string, context: string): string {
  if (!built.has(tag)) {
    const baseImage = execFileSync("bash", [join(REPO_ROOT, "scripts", "build-base-image.sh")], { encoding: "utf8" }).trim();
    docker(["build", "-q", "--build-arg", `BASE_IMAGE=${baseImage}`, "-t", tag, context]);
    built.add(tag);
  }
  return tag;
}

/** The receiver image (receiver/Dockerfile). */
export const buildReceiverImage = (): string => buildImage(RECEIVER_IMAGE, "receiver");

let registry: Promise<Registry> | undefined;
const released = new Map<string, string>();

/**
 * The receiver image as users get it: built, pushed to a registry on loopback under this release's
 * tag, removed, pulled by the tag (once per suite; `stopRegistry` in its afterAll).
 */
export const releasedReceiverImage = (): Promise<string> => releasedImage("receiver", buildReceiverImage);

/** The emulator image as users get it (see releasedReceiverImage). */
export const releasedEmulatorImage = (): Promise<string> => releasedImage("emulator", buildEmulatorImage);

async function releasedImage(workspace: "receiver" | "emulator", build: () => string): Promise<string> {
  registry ??= startRegistry();
  const r = await registry;
  const version = (JSON.parse(readFileSync(join(REPO_ROOT, workspace, "package.json"), "utf8")) as { version: string }).version;
  if (!released.has(workspace)) released.set(workspace, releaseAndPull(r, build(), `gemini-webhooks-${workspace}`, version));
  return released.get(workspace)!;
}

/** Stops the suite's registry, if it started one. */
export async function stopRegistry(): Promise<void> {
  // The pulled tags go (the image stays under its build tag): no tag of a stopped registry's port is left behind.
  for (const reference of released.values()) spawnSync("docker", ["rmi", reference], { stdio: "ignore" });
  if (registry) (await registry).stop();
  registry = undefined;
  released.clear();
}

/** The emulator image (emulator/Dockerfile). */
export const buildEmulatorImage = (): string => buildImage(EMULATOR_IMAGE, "emulator");

/** A local image of this machine's python3 and standard library (scripts/build-python-image.sh). */
export const buildPythonImage = (): string => execFileSync("bash", [join(REPO_ROOT, "scripts", "build-python-image.sh")], { encoding: "utf8" }).trim();

/** A `docker:index/container:Container`'s inputs as a stack declares them (read under Pulumi's mocks). */
export interface ContainerInputs {
  name: string;
  envs?: string[];
  command?: string[];
  user?: string;
  volumes?: { hostPath?: string; volumeName?: string; containerPath: string; readOnly?: boolean }[];
  hosts?: { host: string; ip: string }[];
  networksAdvanced?: { name: string; aliases?: string[] }[];
  ports?: { internal: number; external: number; ip: string }[];
  restart?: string;
}

/** `docker run` arguments that configure a container as the stack's inputs do, with `image` as its image. */
export function dockerRunArgs(c: ContainerInputs, image: string): string[] {
  return [
    "run", "-d", "--name", c.name,
    ...(c.user ? ["--user", c.user] : []),
    ...(c.restart ? ["--restart", c.restart] : []),
    ...(c.envs ?? []).flatMap((e) => ["-e", e]),
    ...(c.volumes ?? []).flatMap((v) => ["-v", `${v.hostPath ?? v.volumeName}:${v.containerPath}${v.readOnly ? ":ro" : ""}`]),
    ...(c.hosts ?? []).flatMap((h) => ["--add-host", `${h.host}:${h.ip}`]),
    ...(c.networksAdvanced ?? []).flatMap((n) => ["--network", n.name, ...(n.aliases ?? []).flatMap((a) => ["--network-alias", a])]),
    ...(c.ports ?? []).flatMap((p) => ["-p", `${p.ip}:${p.external}:${p.internal}`]),
    image,
    ...(c.command ?? []),
  ];
}
