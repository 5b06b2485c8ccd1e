/**
 * `pulumi.runtime.setMocks` for the examples' wiring tests: records every resource the program
 * registers and answers with plausible outputs. The provider methods are never called in mocks.
 */
import * as pulumi from "@pulumi/pulumi";

export interface Registered {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  opts?: unknown;
}

export const MOCK_CREATE_SECRET = "whsec_" + Buffer.alloc(32, 1).toString("base64");
export const MOCK_ROTATED_SECRET = "whsec_" + Buffer.alloc(32, 2).toString("base64");

export async function useMocks(project: string, config: Record<string, string> = {}): Promise<Registered[]> {
  const registered: Registered[] = [];
  process.env.PULUMI_CONFIG = JSON.stringify(Object.fromEntries(Object.entries(config).map(([k, v]) => [k.includes(":") ? k : `${project}:${k}`, v])));
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === "pulumi-nodejs:dynamic/gemini:Webhook") state.signingSecret = MOCK_CREATE_SECRET;
        if (args.type === "pulumi-nodejs:dynamic/gemini:SecretRotation") {
          state.secret = MOCK_ROTATED_SECRET;
          state.previousSecretsExpireAt = new Date(Date.now() + 24 * 3600e3).toISOString();
        }
        if (args.type === "docker:index/image:Image") state.repoDigest = "sha256:" + "ab".repeat(32);
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    project,
    "test",
    false,
  );
  return registered;
}

export function settled<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply((value) => resolve(value)));
}
