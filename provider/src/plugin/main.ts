#!/usr/bin/env node
/**
 * `pulumi-resource-gemini`: the executable the Pulumi CLI launches (found on PATH, in a Pulumi.yaml
 * `plugins` entry, or installed with `pulumi plugin install resource gemini <version> --file <tarball>`).
 * The engine passes its address as the first argument and reads the port from the first stdout line.
 */
import { serve } from "./server";

// The package's own version: what GetPluginInfo answers and what the schema carries.
const VERSION: string = require("../../package.json").version;

async function main(): Promise<void> {
  const engineAddress = process.argv.slice(2).find((a) => !a.startsWith("-"));
  const port = await serve(VERSION, engineAddress);
  process.stdout.write(`${port}\n`);
}

main().catch((err) => {
  console.error(`pulumi-resource-gemini: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
