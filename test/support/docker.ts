/**
 * The real Docker engine for the container suites: a clear failure when none runs (these suites
 * never skip), and the receiver image built once per test process from receiver/Dockerfile on a
 * local base image (no registry here: scripts/build-base-image.sh imports one).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "../../scripts/paths";

export const RECEIVER_IMAGE = "gemini-webhooks-receiver:test";

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

let built = false;

/** Builds the receiver image (after `npm run build`, which bundles dist/image/receiver.js). */
export function buildReceiverImage(): string {
  if (!built) {
    const baseImage = execFileSync("bash", [join(REPO_ROOT, "scripts", "build-base-image.sh")], { encoding: "utf8" }).trim();
    docker(["build", "-q", "--build-arg", `BASE_IMAGE=${baseImage}`, "-t", RECEIVER_IMAGE, "receiver"]);
    built = true;
  }
  return RECEIVER_IMAGE;
}
