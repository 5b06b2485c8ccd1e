/**
 * One HTTP/1.1 request over a raw socket, exactly as written: for what fetch will not send
 * (odd request targets, repeated headers, slow or unfinished bodies). Resolves with the status
 * (0 when the server closed without answering), the body and how long the connection lasted.
 */
import { connect } from "node:net";

export interface RawAnswer {
  status: number;
  body: string;
  ms: number;
}

export function rawRequest(
  port: number,
  head: string[],
  payload: Buffer = Buffer.alloc(0),
  options: { dripMs?: number; stopAfter?: number; timeoutMs?: number } = {},
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, "127.0.0.1");
    let answer = "";
    const drip: { timer?: NodeJS.Timeout } = {};
    socket.setTimeout(options.timeoutMs ?? 60_000, () => socket.destroy());
    socket.on("data", (c) => (answer += c.toString("latin1")));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      if (drip.timer) clearInterval(drip.timer);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
      resolve({ status, body: answer.slice(answer.indexOf("\r\n\r\n") + 4), ms: Date.now() - started });
    });
    socket.write([...head, `content-length: ${payload.length}`, "connection: close", "", ""].join("\r\n"));
    if (!options.dripMs) {
      socket.end(payload);
      return;
    }
    let sent = 0;
    const stopAt = options.stopAfter ?? payload.length;
    drip.timer = setInterval(() => {
      if (socket.destroyed || sent >= stopAt) return clearInterval(drip.timer);
      socket.write(payload.subarray(sent, sent + 1));
      sent++;
    }, options.dripMs);
  });
}
