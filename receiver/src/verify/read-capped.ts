/**
 * A request's or response's body, read as a stream and abandoned past `max` bytes: a
 * `content-length` over the cap is refused before anything is read, and a body without one is cut
 * at the cap — never buffered whole. `tooLarge` makes the error (its argument says which limit).
 */
export async function readCappedBytes(message: Request | Response, max: number, tooLarge: (detail: string) => Error): Promise<Uint8Array> {
  const declared = Number(message.headers.get("content-length") ?? NaN);
  if (declared > max) {
    await message.body?.cancel().catch(() => undefined);
    throw tooLarge(`content-length ${declared} > ${max}`);
  }
  const reader = message.body?.getReader();
  if (!reader) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(`over ${max} bytes`);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0];
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.length;
  }
  return body;
}
