/**
 * Secrets as a file on the Docker host, mounted read-only into the containers that need them: Gemini's
 * signing secrets for the receiver (WEBHOOK_SIGNING_SECRETS_FILE), the forwarding secrets for the
 * receiver and the backend (FORWARD_SIGNING_SECRETS_FILE). A rotation rewrites the file — atomically,
 * by rename in the same directory — and the readers pick it up without a restart. Nothing about the
 * containers changes, so `pulumi up` replaces none of them. (The durable-receiver example has the same
 * file: each example is a folder you copy on its own.)
 *
 * The file is readable by its owner only (0600): the receivers run as the deploying user, or, when
 * the deployment runs as root, the file belongs to the image's user (10001).
 */
import * as pulumi from "@pulumi/pulumi";

export const RECEIVER_IMAGE_USER = { uid: 10001, gid: 10001 };
export const SECRETS_FILE_NAME = "signing-secrets";

/** Who owns the file and runs the receivers: the deploying user, or the image's user under root. */
export function secretsOwner(): { uid: number; gid: number } {
  const uid = process.getuid?.() ?? 0;
  return uid === 0 ? RECEIVER_IMAGE_USER : { uid, gid: process.getgid?.() ?? 0 };
}

/** Writes `secrets` (space-separated whsec_ values) to `dir`/signing-secrets, atomically, mode 0600. */
export function writeSecretsFile(dir: string, secrets: string, owner = secretsOwner()): string {
  // Required here, not imported: Pulumi serializes the provider below with this function.
  const fs = require("node:fs") as typeof import("node:fs");
  const path = require("node:path") as typeof import("node:path");
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, "signing-secrets");
  const temp = path.join(dir, `.signing-secrets.${process.pid}.${Date.now()}`);
  fs.writeFileSync(temp, secrets + "\n", { mode: 0o600 });
  if ((process.getuid?.() ?? -1) === 0) {
    fs.chownSync(dir, owner.uid, owner.gid);
    fs.chownSync(temp, owner.uid, owner.gid);
  }
  fs.renameSync(temp, file);
  return file;
}

interface Inputs {
  dir: string;
  secrets: string;
  owner: { uid: number; gid: number };
}

const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: Inputs) {
    return { id: writeSecretsFile(inputs.dir, inputs.secrets, inputs.owner), outs: inputs };
  },
  async diff(_id, olds: Inputs, news: Inputs) {
    const replaces = olds.dir !== news.dir ? ["dir"] : [];
    return { changes: replaces.length > 0 || olds.secrets !== news.secrets, replaces, deleteBeforeReplace: false };
  },
  async update(_id, _olds: Inputs, news: Inputs) {
    writeSecretsFile(news.dir, news.secrets, news.owner);
    return { outs: news };
  },
  async delete(id: string) {
    (require("node:fs") as typeof import("node:fs")).rmSync(id, { force: true });
  },
};

export class SecretsFile extends pulumi.dynamic.Resource {
  declare readonly dir: pulumi.Output<string>;

  constructor(name: string, args: { dir: pulumi.Input<string>; secrets: pulumi.Input<string> }, opts?: pulumi.CustomResourceOptions) {
    super(provider, name, { ...args, secrets: pulumi.secret(args.secrets), owner: secretsOwner() }, { ...opts, additionalSecretOutputs: ["secrets"] }, "python-backend", "SecretsFile");
  }
}
