/**
 * Signing secrets in use — the static webhooks' (WEBHOOK_SIGNING_SECRETS) or the forwards'
 * (FORWARD_SIGNING_SECRETS) — from the variable or from a file that can change (`<name>_FILE`: a
 * mounted Docker or Kubernetes secret). The file is re-read when it
 * changes and on SIGHUP, so a rotation needs no restart; a malformed new file keeps the secrets in
 * use and says why (never what it holds).
 */
import { FSWatcher, watch } from "node:fs";
import { basename, dirname } from "node:path";
import type { KeyObject } from "node:crypto";
import type { FastifyBaseLogger } from "fastify";
import { readSecretsFile, ReceiverConfig } from "../ops/config";
import { decodeSecrets, parseSecrets } from "../verify/static-node";

export class SigningKeys {
  current: KeyObject[];
  #watcher?: FSWatcher;
  #debounce?: NodeJS.Timeout;

  constructor(
    private readonly config: Pick<ReceiverConfig, "signingSecrets" | "signingSecretsFile">,
    private readonly log: FastifyBaseLogger,
    /** Told of every reload attempt (the `gemini_webhook_secrets_reload_total{outcome}` counter). */
    private readonly onReload: (outcome: "ok" | "failed") => void = () => undefined,
    /** The file's variable, for messages. */
    private readonly variable = "WEBHOOK_SIGNING_SECRETS_FILE",
  ) {
    this.current = config.signingSecrets.length ? decodeSecrets(config.signingSecrets) : [];
    if (config.signingSecretsFile) this.#checkMode(config.signingSecretsFile);
  }

  /** A secrets file other users can read is said so (once per start, and after a reload that changed it). */
  #warnedMode?: number;
  #checkMode(file: string, mode?: number): void {
    try {
      mode ??= readSecretsFile(file).mode;
    } catch {
      return; // the read itself reports
    }
    if ((mode & 0o077) === 0 || mode === this.#warnedMode) return;
    this.#warnedMode = mode;
    this.log.warn({ file, mode: `0${mode.toString(8)}` }, `${this.variable} is readable by group or others: make it 0600 (or 0400), owned by the receiver's user`);
  }

  /** Re-reads the file; true when the new secrets are in use. */
  reload(): boolean {
    const file = this.config.signingSecretsFile;
    if (!file) return false;
    try {
      const { text, mode } = readSecretsFile(file);
      const next = decodeSecrets(parseSecrets(text));
      this.#checkMode(file, mode);
      this.current = next;
      this.log.info({ secrets: next.length }, `signing secrets reloaded from ${this.variable}`);
      this.onReload("ok");
      return true;
    } catch (err) {
      this.log.error({ err: { message: (err as Error).message } }, `${this.variable} could not be used; keeping the secrets in use`);
      this.onReload("failed");
      return false;
    }
  }

  /** Watches the file's directory: mounted secrets change by replacing a symlink, not the file. */
  watch(): void {
    const file = this.config.signingSecretsFile;
    if (!file || this.#watcher) return;
    try {
      this.#watcher = watch(dirname(file), (_event, name) => {
        if (name !== null && name !== basename(file) && !String(name).startsWith("..")) return;
        clearTimeout(this.#debounce);
        this.#debounce = setTimeout(() => this.reload(), 100);
      });
      this.#watcher.on("error", () => undefined);
      this.#watcher.unref();
    } catch {
      // a filesystem without change events: SIGHUP still reloads
    }
  }

  close(): void {
    clearTimeout(this.#debounce);
    this.#watcher?.close();
  }
}
