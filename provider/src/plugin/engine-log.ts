/**
 * Warnings through the engine's Log service, so they show in `pulumi up` output like any
 * provider's: a plugin's own stdout and stderr are hidden by the engine.
 */
import * as grpc from "@grpc/grpc-js";
import { AsyncLocalStorage } from "node:async_hooks";
import * as engproto from "@pulumi/pulumi/proto/engine_pb";
import * as engrpc from "@pulumi/pulumi/proto/engine_grpc_pb";
import { scrub } from "./secret-values";

/**
 * The operation running: its resource's URN, so a message is shown under it, and the texts of the
 * secrets it received, so no message repeats one.
 */
const current = new AsyncLocalStorage<{ urn: string; secrets: readonly string[] }>();

export function withRequest<T>(urn: string, secrets: readonly string[], fn: () => T): T {
  return current.run({ urn, secrets }, fn);
}

export class EngineLog {
  private client: engrpc.EngineClient | undefined;

  constructor(address: string | undefined) {
    if (address) this.connect(address);
  }

  connect(address: string): void {
    this.client?.close();
    this.client = new engrpc.EngineClient(address, grpc.credentials.createInsecure());
  }

  warn(message: string): void {
    this.#log(engproto.LogSeverity.WARNING, "warning", message);
  }

  info(message: string): void {
    this.#log(engproto.LogSeverity.INFO, "info", message);
  }

  #log(severity: engproto.LogSeverity, label: string, raw: string): void {
    const message = scrub(raw, current.getStore()?.secrets ?? []);
    if (!this.client) {
      console.error(`${label}: ${message}`);
      return;
    }
    const req = new engproto.LogRequest();
    req.setSeverity(severity);
    req.setMessage(message);
    req.setUrn(current.getStore()?.urn ?? "");
    this.client.log(req, (err) => {
      if (err) console.error(`${label}: ${message}`);
    });
  }
}
