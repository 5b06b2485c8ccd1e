/**
 * Bundles the receiver server (receiver/dist/cli.js and its dependencies) into one file for the
 * container image, so the image needs only `node`: no npm, no registry, no node_modules.
 */
import { join } from "node:path";
import { bundleForNode } from "./bundle";
import { REPO_ROOT } from "./paths";

bundleForNode(join(REPO_ROOT, "receiver", "dist", "cli.js"), join(REPO_ROOT, "receiver", "dist", "image", "receiver.js"), "gemini-webhooks-receiver");
