/**
 * Warnings through the engine's Log service, so they show in `pulumi up` output like any
 * provider's: a plugin's own stdout and stderr are hidden by the engine.
 */
import * as grpc from "@grpc/grpc-js";
import { AsyncLocalStorage } from "node:async_hooks";
import * as engproto from "@pulumi/pulumi/proto/engine_pb";
import * as engrpc from "@pulumi/pulumi/proto/engine_grpc_pb";

/** The URN of the resource whose operation is running, so a warning is shown under it. */
const currentUrn = new AsyncLocalStorage<string>();

export function withUrn<T>(urn: string, fn: () => T): T {
  return currentUrn.run(urn, fn);
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

  #log(severity: engproto.LogSeverity, label: string, message: string): void {
    if (!this.client) {
      console.error(`${label}: ${message}`);
      return;
    }
    const req = new engproto.LogRequest();
    req.setSeverity(severity);
    req.setMessage(message);
    req.setUrn(currentUrn.getStore() ?? "");
    this.client.log(req, (err) => {
      if (err) console.error(`${label}: ${message}`);
    });
  }
}
