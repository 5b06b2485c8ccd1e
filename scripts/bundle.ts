/** One esbuild setting for every shipped bundle: a single CommonJS file that needs only `node` (22+). */
import { buildSync } from "esbuild";

export function bundleForNode(entry: string, outfile: string): void {
  buildSync({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    target: "node22",
    format: "cjs",
    minifySyntax: true,
    legalComments: "eof",
    logLevel: "warning",
  });
}
