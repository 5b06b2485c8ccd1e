/**
 * Runs a command without blocking the event loop (a suite's in-process servers keep answering
 * while it runs) and reports how it ended instead of throwing: callers assert on the exit code.
 */
import { execFile } from "node:child_process";

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr together, for assertions and leak scans. */
  output: string;
}

export function execCommand(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr, output: `${stdout}\n${stderr}` });
    });
  });
}

/** `execCommand` for commands that must succeed: their output, or an error holding it. */
export async function execOk(cmd: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  const result = await execCommand(cmd, args, options);
  if (result.code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${result.code}:\n${result.output}`);
  return result.stdout;
}

/** This process's environment without npm's per-run variables (an `npm test` run's workspace and script settings). */
export function cleanNpmEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.toLowerCase().startsWith("npm_"))), ...extra };
}
