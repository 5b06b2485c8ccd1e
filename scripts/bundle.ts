/** One esbuild setting for every shipped bundle: a single CommonJS file that needs only `node` (22.13+). */
import { buildSync } from "esbuild";

/** The first statement of a bundle: an older Node gets one line naming what it needs, not a stack trace. */
function nodeCheck(name: string): string {
  return [
    `{ const [major, minor] = process.versions.node.split(".").map(Number);`,
    `  if (major < 22 || (major === 22 && minor < 13)) { process.stderr.write(${JSON.stringify(name)} + " needs Node.js 22.13 or newer; this is " + process.version + ". Install Node 24 LTS (https://nodejs.org, or \`nvm install 24\`) and run it again.\\n"); process.exit(1); } }`,
  ].join("\n");
}

export function bundleForNode(entry: string, outfile: string, name: string): void {
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
    banner: { js: nodeCheck(name) },
  });
}

/**
 * The portable verifier as one ES module for every runtime with Web Crypto (workerd, Deno, Bun,
 * browsers' engines, Node): platform-neutral, so a `node:` import anywhere in its graph fails the
 * build; jose's Web Crypto build. Returns the minified size and its gzip size, in bytes.
 */
export function bundleForWeb(entry: string, outfile: string): { bytes: number; gzip: number } {
  const result = buildSync({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "neutral",
    format: "esm",
    target: "es2022",
    conditions: ["worker", "browser"],
    mainFields: ["module", "main"],
    minify: true,
    legalComments: "eof",
    logLevel: "warning",
    metafile: true,
  });
  const bytes = Object.values(result.metafile!.outputs)[0].bytes;
   
  const gzip = (require("node:zlib") as typeof import("node:zlib")).gzipSync((require("node:fs") as typeof import("node:fs")).readFileSync(outfile)).length;
  return { bytes, gzip };
}
