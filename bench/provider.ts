/**
 * Provider cost through the real engine against the emulator: `pulumi up` of N webhooks (create,
 * no-op, update, destroy), API calls per resource per operation, state bytes per webhook, and the
 * engine's own floor: the same N of a trivial dynamic resource that calls nothing; and the same N
 * through the gemini plugin from a YAML program run by the `pulumi` command.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { RunningEmulator, startEmulator } from "gemini-webhooks-emulator";
import { Webhook } from "pulumi-gemini-webhooks";
import { closeAllPools } from "gemini-webhooks-client";
import { openStack } from "../scripts/engine";
import { PROVIDER_PACKAGE, scratchInfraRepo } from "../scripts/infra-repo";
import { PulumiProject } from "../scripts/yaml-project";

export interface ProviderFigure {
  n: number;
  /** `installed`: the package as npm installs it (what users run); `checkout`: this source tree. */
  kind: "webhook (installed)" | "webhook (checkout)" | "webhook (plugin, YAML)" | "trivial";
  createSeconds: number;
  noopSeconds: number;
  updateSeconds: number;
  destroySeconds: number;
  callsPerResource?: { create: number; noop: number; update: number; destroy: number };
  stateBytesPerResource: number;
}

/** A dynamic resource that does nothing: the engine's floor. */
const trivialProvider: pulumi.dynamic.ResourceProvider = {
  async create() {
    return { id: "trivial", outs: {} };
  },
  async diff(_id, olds, news) {
    return { changes: olds.version !== news.version };
  },
  async update(_id, _olds, news) {
    return { outs: { version: news.version } };
  },
};
class Trivial extends pulumi.dynamic.Resource {
  constructor(name: string, version: number) {
    super(trivialProvider, name, { version }, undefined, "bench", "Trivial");
  }
}

function totalCalls(calls: Record<string, number>): number {
  return Object.values(calls).reduce((a, b) => a + b, 0);
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return Math.round((performance.now() - started) / 10) / 100;
}

function stateBytes(dir: string, type: string): number {
  const stackDir = join(dir, ".pulumi", "stacks");
  for (const project of readdirSync(stackDir)) {
    for (const file of readdirSync(join(stackDir, project))) {
      if (!file.endsWith(".json")) continue;
      const state = JSON.parse(readFileSync(join(stackDir, project, file), "utf8")) as { checkpoint: { latest: { resources?: { type: string }[] } } };
      const resources = (state.checkpoint.latest.resources ?? []).filter((r) => r.type === type);
      if (resources.length) return Math.round(resources.map((r) => JSON.stringify(r).length).reduce((a, b) => a + b, 0) / resources.length);
    }
  }
  return 0;
}

/** The steps one measured lifecycle runs: up three times (create, no-op, after `edit`), then destroy. */
interface Lifecycle {
  up: () => Promise<unknown>;
  /** Changes every resource's inputs (the program's next up updates them). */
  edit: () => void;
  destroy: () => Promise<unknown>;
  /** State bytes per resource, read before destroy. */
  stateBytes: () => number;
}

/** Times each step and counts the emulator's API calls per resource across it. */
async function measure(n: number, kind: ProviderFigure["kind"], emulator: RunningEmulator, steps: Lifecycle, countCalls: boolean): Promise<ProviderFigure> {
  const calls = () => totalCalls(emulator.ctx.metrics.calls);
  const c0 = calls();
  const createSeconds = await timed(steps.up);
  const c1 = calls();
  const noopSeconds = await timed(steps.up);
  const c2 = calls();
  steps.edit();
  const updateSeconds = await timed(steps.up);
  const c3 = calls();
  const stateBytesPerResource = steps.stateBytes();
  const destroySeconds = await timed(steps.destroy);
  const c4 = calls();
  return {
    n,
    kind,
    createSeconds,
    noopSeconds,
    updateSeconds,
    destroySeconds,
    ...(countCalls ? { callsPerResource: { create: (c1 - c0) / n, noop: (c2 - c1) / n, update: (c3 - c2) / n, destroy: (c4 - c3) / n } } : {}),
    stateBytesPerResource,
  };
}

/** N webhooks in a YAML program through the `pulumi` command and the gemini plugin. */
async function benchPlugin(n: number, emulator: RunningEmulator): Promise<ProviderFigure> {
  const program = (version: number) =>
    `name: bench-plugin\nruntime: yaml\nresources:\n` +
    Array.from({ length: n }, (_, i) => `  w${i}:\n    type: gemini:Webhook\n    properties:\n      name: bench-${i}\n      uri: https://example.com/v${version}/${i}\n      subscribedEvents: [batch.succeeded]\n`).join("");
  const project = await PulumiProject.create({ yaml: program(1) });
  try {
    await project.ok(["stack", "init", `n${n}`]);
    await project.ok(["config", "set", "gemini:baseUrl", emulator.url]);
    await project.ok(["config", "set", "--secret", "gemini:apiKey", "bench-key"]);
    const up = () => project.ok(["up", "--yes", "--skip-preview"]);
    return await measure(n, "webhook (plugin, YAML)", emulator, {
      up,
      edit: () => project.writeProgram(program(2)),
      destroy: () => project.ok(["destroy", "--yes", "--skip-preview"]),
      stateBytes: () => stateBytes(project.backendDir, "gemini:index:Webhook"),
    }, true);
  } finally {
    project.remove();
  }
}

export async function benchProvider(sizes: number[] = [10, 50, 100]): Promise<ProviderFigure[]> {
  const figures: ProviderFigure[] = [];
  const emulator = await startEmulator({ inMemory: true, apiKey: "bench-key" });
  try {
    const installDir = scratchInfraRepo().dir;
    const InstalledWebhook = (require(join(installDir, "node_modules", PROVIDER_PACKAGE)) as typeof import("pulumi-gemini-webhooks")).Webhook;
    for (const n of sizes) {
      for (const kind of ["webhook (installed)", "webhook (checkout)", "trivial"] as const) {
        const dir = mkdtempSync(join(tmpdir(), "gemini-bench-"));
        const WebhookClass = kind === "webhook (installed)" ? InstalledWebhook : Webhook;
        let version = 1;
        try {
          const stack = await openStack({
            projectName: `bench-${kind.replace(/[^a-z]+/g, "-").replace(/-$/, "")}`,
            stackName: `n${n}`,
            backendDir: dir,
            mainDir: kind === "webhook (installed)" ? installDir : undefined,
            pulumiPackageDir: kind === "webhook (installed)" ? join(installDir, "node_modules", "@pulumi", "pulumi") : undefined,
            program: async () => {
              for (let i = 0; i < n; i++) {
                if (kind !== "trivial") new WebhookClass(`w${i}`, { name: `bench-${i}`, uri: `https://example.com/v${version}/${i}`, subscribedEvents: ["batch.succeeded"] });
                else new Trivial(`t${i}`, version);
              }
            },
            config: { "gemini:apiKey": { value: "bench-key", secret: true }, "gemini:baseUrl": { value: emulator.apiUrl } },
          });
          const type = kind !== "trivial" ? "pulumi-nodejs:dynamic/gemini:Webhook" : "pulumi-nodejs:dynamic/bench:Trivial";
          figures.push(
            await measure(n, kind, emulator, {
              up: () => stack.up(),
              edit: () => {
                version = 2;
              },
              destroy: () => stack.destroy(),
              stateBytes: () => stateBytes(dir, type),
            }, kind !== "trivial"),
          );
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
      figures.push(await benchPlugin(n, emulator));
    }
    rmSync(installDir, { recursive: true, force: true });
  } finally {
    await emulator.close();
    await closeAllPools();
  }
  return figures;
}
