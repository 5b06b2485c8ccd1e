/**
 * The portable verifier in each runtime, side by side in one run: microseconds per verification of a
 * ~1 KB delivery with one secret — ours (`gemini-webhooks-receiver/web`), the reference
 * `standardwebhooks` library (synchronous pure-JS HMAC), and the floor (one bare `crypto.subtle.verify`
 * with a key imported once), 16 in flight. Node, Deno and Bun time themselves (the median of 9 rounds); workerd's clock
 * stands still while code runs, so its figure is the request's wall time from outside for n
 * verifications minus that of n = 0, divided by n.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildSync } from "esbuild";
import { runtimeBins, RUNTIME_VERSIONS, workerdConfig } from "../scripts/runtimes";
import { REPO_ROOT } from "../scripts/paths";
import { prepare, SECRET_NEW } from "./receiver";

export interface WebFigure {
  runtime: string;
  floorMicros: number;
  minimalMicros: number;
  oursMicros: number;
  referenceMicros: number;
  /** ours ÷ floor: above the platform's own HMAC verification of prepared bytes. */
  oursVsFloor: number;
  /** ours ÷ minimal: above what any verifier returning the event must do (encode, verify, parse). */
  oursVsMinimal: number;
  referenceVsFloor: number;
}

const N = 20_000;

function port(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function benchWebVerifiers(): Promise<WebFigure[]> {
  const bins = runtimeBins();
  const dir = mkdtempSync(join(tmpdir(), "gemini-web-bench-"));
  try {
    copyFileSync(join(REPO_ROOT, "receiver", "dist", "web", "web.mjs"), join(dir, "web.mjs"));
    for (const file of readdirSync(join(REPO_ROOT, "bench", "web"))) copyFileSync(join(REPO_ROOT, "bench", "web", file), join(dir, file));
    // The reference library as one ES module, for runtimes that cannot load it from node_modules.
    buildSync({ stdin: { contents: 'export { Webhook } from "standardwebhooks";', resolveDir: REPO_ROOT }, outfile: join(dir, "standardwebhooks.mjs"), bundle: true, format: "esm", platform: "neutral", mainFields: ["module", "main"], logLevel: "warning" });
    // One valid delivery signed with one secret (no second signature: the floor is one verify).
    const [first] = prepare(1);
    const delivery = { secret: SECRET_NEW, body: first.body, headers: { ...first.headers, "webhook-signature": first.headers["webhook-signature"].split(" ")[0] } };
    const env = { ...process.env, DELIVERY: JSON.stringify(delivery), N: String(N) };
    const figures: WebFigure[] = [];
    const self = (runtime: string, cmd: string, args: string[]) => {
      const out = execFileSync(cmd, args, { cwd: dir, env, encoding: "utf8" }).trim().split("\n").pop()!;
      const { floor, minimal, ours, reference } = JSON.parse(out) as Record<string, number>;
      figures.push(figure(runtime, floor, minimal, ours, reference));
    };
    self(`node ${process.version}`, process.execPath, ["node.mjs"]);
    self(`deno ${RUNTIME_VERSIONS.deno}`, bins.deno, ["run", "--allow-env", "--no-prompt", "deno.mjs"]);
    self(`bun ${RUNTIME_VERSIONS.bun}`, bins.bun, ["bun.mjs"]);
    figures.push(await workerd(bins.workerd, dir, JSON.stringify(delivery)));
    return figures;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function figure(runtime: string, floor: number, minimal: number, ours: number, reference: number): WebFigure {
  return { runtime, floorMicros: floor, minimalMicros: minimal, oursMicros: ours, referenceMicros: reference, oursVsFloor: +(ours / floor).toFixed(2), oursVsMinimal: +(ours / minimal).toFixed(2), referenceVsFloor: +(reference / floor).toFixed(2) };
}

async function workerd(bin: string, dir: string, delivery: string): Promise<WebFigure> {
  const listen = await port();
  writeFileSync(join(dir, "config.capnp"), workerdConfig({ port: listen, modules: ["worker.mjs", "bench.mjs", "web.mjs", "standardwebhooks.mjs"], bindings: { DELIVERY: delivery } }));
  const child: ChildProcess = spawn(bin, ["serve", join(dir, "config.capnp")], { stdio: "ignore" });
  try {
    const url = (which: string, n: number) => `http://127.0.0.1:${listen}/?which=${which}&n=${n}`;
    for (let i = 0; i < 200; i++) {
      if ((await fetch(url("floor", 1)).catch(() => undefined))?.ok) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const timed = async (which: string, n: number) => {
      const start = performance.now();
      await (await fetch(url(which, n))).text();
      return performance.now() - start;
    };
    const kinds = ["floor", "minimal", "ours", "reference"];
    for (const which of kinds) await timed(which, 2000); // warm-up
    // 9 rounds interleave the kinds; per kind the median round, less the median empty request.
    const rounds: Record<string, number[]> = Object.fromEntries([...kinds, "empty"].map((k) => [k, []]));
    for (let round = 0; round < 9; round++) {
      rounds.empty.push(await timed("floor", 0));
      for (const which of kinds) rounds[which].push(await timed(which, N));
    }
    const middle = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1];
    const per = (which: string) => Math.round(((middle(rounds[which]) - middle(rounds.empty)) * 1000 * 10) / N) / 10;
    return figure(`workerd ${RUNTIME_VERSIONS.workerd}`, per("floor"), per("minimal"), per("ours"), per("reference"));
  } finally {
    child.kill("SIGKILL");
  }
}
