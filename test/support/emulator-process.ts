/** The emulator as a separate process started through its CLI, so tests can SIGKILL it. */
import { ChildProcess, spawn } from "node:child_process";
import { EMULATOR_CLI } from "../../scripts/paths";

export interface EmulatorProcess {
  url: string;
  /** The `--api-key` it was started with, if any. */
  apiKey?: string;
  child: ChildProcess;
  output: () => string;
}

export async function spawnEmulator(args: string[]): Promise<EmulatorProcess> {
  const cli = EMULATOR_CLI;
  const child = spawn(process.execPath, [cli, "serve", "--port", "0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`emulator did not start:\n${output}`)), 15_000);
    const check = () => {
      const m = /listening on (http:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on("data", check);
    child.once("exit", (code) => reject(new Error(`emulator exited with ${code}:\n${output}`)));
  });
  const keyAt = args.indexOf("--api-key");
  return { url, apiKey: keyAt >= 0 ? args[keyAt + 1] : undefined, child, output: () => output };
}

export async function kill(proc: EmulatorProcess, signal: NodeJS.Signals): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    proc.child.once("exit", () => resolve());
    proc.child.kill(signal);
  });
}
