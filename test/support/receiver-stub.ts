/**
 * A plain node:http receiver on loopback that records every delivery byte for byte and answers
 * as told (a status per attempt, a delay, or never). Tests judge what the emulator sent with it.
 */
import { createServer, IncomingHttpHeaders, Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Recorded {
  headers: IncomingHttpHeaders;
  body: Buffer;
  at: number;
}

export interface StubBehaviour {
  /** Status for the n-th request to this stub (0-based); default 200. */
  status?: (n: number, req: Recorded) => number;
  headers?: (n: number) => Record<string, string>;
  delayMs?: number;
  /** Never answer (the connection stays open until the sender gives up). */
  hang?: boolean;
}

export class ReceiverStub {
  readonly received: Recorded[] = [];
  #server: Server;
  url = "";

  private constructor(private behaviour: StubBehaviour) {
    this.#server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const record = { headers: req.headers, body: Buffer.concat(chunks), at: Date.now() };
        const n = this.received.push(record) - 1;
        if (this.behaviour.hang) return;
        const answer = () => {
          res.writeHead(this.behaviour.status?.(n, record) ?? 200, this.behaviour.headers?.(n) ?? {});
          res.end("ok");
        };
        if (this.behaviour.delayMs) setTimeout(answer, this.behaviour.delayMs);
        else answer();
      });
    });
    this.#server.keepAliveTimeout = 5_000;
  }

  static async start(behaviour: StubBehaviour = {}, path = "/hook"): Promise<ReceiverStub> {
    const stub = new ReceiverStub(behaviour);
    await new Promise<void>((resolve) => stub.#server.listen(0, "127.0.0.1", resolve));
    stub.url = `http://127.0.0.1:${(stub.#server.address() as AddressInfo).port}${path}`;
    return stub;
  }

  setBehaviour(behaviour: StubBehaviour): void {
    this.behaviour = behaviour;
  }

  uniqueIds(): Set<string> {
    return new Set(this.received.map((r) => String(r.headers["webhook-id"])));
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

export { waitFor } from "../../scripts/wait-for";

export function headerRecord(headers: IncomingHttpHeaders): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(", ") : String(v)]));
}
