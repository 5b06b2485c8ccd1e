/** A pino destination for in-process servers: what they logged, as text or as parsed JSON lines. */
import { Writable } from "node:stream";

export function logSink(): { stream: Writable; text: () => string; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const text = () => chunks.join("");
  return {
    stream: new Writable({
      write(chunk, _enc, cb) {
        chunks.push(chunk.toString());
        cb();
      },
    }),
    text,
    lines: () => text().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}
