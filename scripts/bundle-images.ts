/**
 * Bundles the servers the container images run (the receiver's and the emulator's cli.js with
 * their dependencies) into one file each, so an image needs only `node`: no npm, no registry, no
 * node_modules. Each lands in its package's dist/image/, which its Dockerfile copies. Also the
 * receiver's portable verifier as one ES module (dist/web/web.mjs: `gemini-webhooks-receiver/web`'s
 * import for runtimes that load ES modules).
 */
import { join } from "node:path";
import { bundleForNode, bundleForWeb } from "./bundle";
import { REPO_ROOT } from "./paths";

bundleForNode(join(REPO_ROOT, "receiver", "dist", "cli.js"), join(REPO_ROOT, "receiver", "dist", "image", "receiver.js"), "gemini-webhooks-receiver");
bundleForNode(join(REPO_ROOT, "emulator", "dist", "cli.js"), join(REPO_ROOT, "emulator", "dist", "image", "emulator.js"), "gemini-webhooks-emulator");
bundleForWeb(join(REPO_ROOT, "receiver", "src", "web", "index.ts"), join(REPO_ROOT, "receiver", "dist", "web", "web.mjs"));
