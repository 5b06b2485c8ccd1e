/**
 * Bundles the receiver server (receiver/dist/cli.js and its dependencies) into one file for the
 * container image, so the image needs only `node`: no npm, no registry, no node_modules.
 */
import { buildSync } from "esbuild";
import { join } from "node:path";

const root = join(__dirname, "..", "..");
buildSync({
  entryPoints: [join(root, "receiver", "dist", "cli.js")],
  outfile: join(root, "receiver", "dist", "image", "receiver.js"),
  bundle: true,
  platform: "node",
  target: "node22",
  format: "cjs",
  minifySyntax: true,
  legalComments: "eof",
  logLevel: "warning",
});
