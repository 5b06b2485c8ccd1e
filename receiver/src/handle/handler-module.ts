/**
 * Loads `HANDLER_MODULE`: a CommonJS or ES module exporting `handle(event, meta)` (also accepted:
 * a default export that is the function, or holds `handle`). A module without one stops start-up.
 */
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import { ConfigError } from "../ops/config";
import type { EventHandler } from "./event";

export async function loadHandlerModule(path: string): Promise<EventHandler> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`HANDLER_MODULE: ${path} could not be loaded: ${(err as Error).message.split("\n")[0]}`);
  }
  const fallback = mod.default as Record<string, unknown> | ((...a: unknown[]) => unknown) | undefined;
  const handle = mod.handle ?? (typeof fallback === "function" ? fallback : fallback?.handle);
  if (typeof handle !== "function") throw new ConfigError(`HANDLER_MODULE: ${path} exports no function named handle`);
  return async (event, meta) => {
    await (handle as EventHandler)(event, meta);
  };
}
