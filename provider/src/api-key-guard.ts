/**
 * Refuses, at preview, a program whose API key would sit in state in plaintext: Pulumi stores the
 * stack's configuration with the default provider, encrypted only when the value was set as a secret.
 * Runs in the program (where the engine says which config keys are secret), before any resource.
 */
import * as pulumi from "@pulumi/pulumi";
import { PLAINTEXT_KEY_MESSAGE } from "./settings";

// `isConfigSecret` is exported by @pulumi/pulumi's runtime but not declared in its types.
const runtime = pulumi.runtime as typeof pulumi.runtime & { isConfigSecret?: (key: string) => boolean };

export function assertApiKeyIsSecret(): void {
  if (pulumi.runtime.getConfig("gemini:apiKey") === undefined) return;
  if (typeof runtime.isConfigSecret !== "function" || runtime.isConfigSecret("gemini:apiKey")) return;
  throw new pulumi.RunError(PLAINTEXT_KEY_MESSAGE);
}
