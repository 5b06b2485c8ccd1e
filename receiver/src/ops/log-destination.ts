/**
 * The server's log destination: writes that never block the event loop, whatever reads stdout. A
 * pipe whose reader stopped reading (a dead log shipper, `| head`) fills up; pino's default
 * destination writes synchronously (`fs.writeSync`), which then blocks the process for good —
 * shutdown's own timers never fire. Here lines go through `process.stdout`, which libuv writes
 * without blocking to a pipe or a socket, one chunk at a time; the lines waiting behind it are held
 * in memory, bounded: past `maxBytes` they are dropped and counted, and the next line written says
 * how many. A reader that went away (EPIPE) drops the lines; it never crashes the server.
 */
export class NonBlockingDestination {
  #queue: Buffer[] = [];
  #queued = 0;
  #writing = false;
  #dropped = 0;
  #flushed: (() => void)[] = [];

  constructor(
    private readonly stream: NodeJS.WritableStream = process.stdout,
    private readonly maxBytes = 8 * 1024 * 1024,
  ) {
    stream.on("error", () => undefined);
  }

  write(line: string): boolean {
    if (this.#queued + line.length > this.maxBytes) {
      this.#dropped++;
      return true;
    }
    if (this.#dropped > 0) {
      this.#push(Buffer.from(`{"level":40,"time":${Date.now()},"msg":"${this.#dropped} log lines dropped: the reader of the log fell behind"}\n`));
      this.#dropped = 0;
    }
    this.#push(Buffer.from(line));
    return true;
  }

  #push(chunk: Buffer): void {
    this.#queue.push(chunk);
    this.#queued += chunk.length;
    if (!this.#writing) this.#next();
  }

  #next(): void {
    if (this.#queue.length === 0) {
      this.#writing = false;
      this.#flushed.splice(0).forEach((done) => done());
      return;
    }
    this.#writing = true;
    const chunk = this.#queue.length === 1 ? this.#queue[0] : Buffer.concat(this.#queue);
    this.#queue = [];
    const done = () => {
      this.#queued -= chunk.length;
      this.#next();
    };
    try {
      this.stream.write(chunk, done); // the callback comes once the chunk is out, or with the error that lost it
    } catch {
      done();
    }
  }

  /** Resolves when what is queued is written, or after `timeoutMs` (a reader that does not read). */
  flush(timeoutMs: number): Promise<void> {
    if (!this.#writing) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.#flushed.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
