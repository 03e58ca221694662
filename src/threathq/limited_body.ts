/**
 * Reads a response body up to a size limit into a single buffer, and
 * releases such buffers once they are no longer needed.
 *
 * Memory matters here because PDF reports and screenshots are up to
 * `import_report_pdf_max_bytes` each. A default stream reader allocates a
 * new buffer for every chunk, and copying the chunks into one buffer
 * doubles the bytes allocated per body. V8 frees an ArrayBuffer's memory
 * only when a garbage collection finds the buffer unreachable, and it
 * starts one for external memory only after about 64 MiB more has been
 * allocated. So this module reads with a BYOB reader straight into one
 * buffer, and `releaseBytes` returns a buffer's memory at once.
 */

/** A body read up to a size limit. */
export type LimitedBody =
  | { kind: "complete"; data: Uint8Array }
  | {
    kind: "too_large";
    /** The Content-Length, or the bytes read before the limit was passed. */
    bytes: number;
    /** False when `bytes` is only a lower bound. */
    exact: boolean;
  };

/** First buffer size when the response has no Content-Length. */
const INITIAL_UNKNOWN_LENGTH_BYTES = 64 * 1024;

/**
 * Frees the memory behind `data` now instead of at the next garbage
 * collection, by detaching its ArrayBuffer. Every view of that buffer
 * becomes empty, so call it only when nothing reads the bytes any more.
 * A buffer that cannot be detached (shared, or already detached) is left
 * as it is.
 */
export function releaseBytes(data: Uint8Array): void {
  const buffer = data.buffer;
  if (!(buffer instanceof ArrayBuffer) || buffer.detached) return;
  buffer.transfer(0);
}

/** Reads a body, stopping as soon as it passes `maxBytes`. */
export async function readLimited(
  response: Response,
  maxBytes: number,
): Promise<LimitedBody> {
  const declared = Number(response.headers.get("content-length") ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    return { kind: "too_large", bytes: declared, exact: true };
  }
  if (response.body === null) {
    return { kind: "complete", data: new Uint8Array(0) };
  }

  let reader: ReadableStreamBYOBReader;
  try {
    reader = response.body.getReader({ mode: "byob" });
  } catch (error) {
    // Only byte streams have BYOB readers. Deno's fetch bodies are byte
    // streams, but a Response built from another stream is not.
    if (!(error instanceof TypeError)) throw error;
    return readChunks(response.body, maxBytes);
  }
  return readIntoOneBuffer(
    reader,
    maxBytes,
    Number.isFinite(declared) ? declared : undefined,
  );
}

/**
 * Reads with a BYOB reader into one buffer. The buffer has room for one
 * byte more than the expected size, so a body longer than expected or
 * than `maxBytes` is caught without a second buffer.
 */
async function readIntoOneBuffer(
  reader: ReadableStreamBYOBReader,
  maxBytes: number,
  declared: number | undefined,
): Promise<LimitedBody> {
  const limit = maxBytes + 1;
  let buffer = new ArrayBuffer(
    declared !== undefined
      ? declared + 1
      : Math.min(limit, INITIAL_UNKNOWN_LENGTH_BYTES),
  );
  let length = 0;

  while (true) {
    if (length === buffer.byteLength) {
      if (length >= limit) {
        await reader.cancel();
        releaseBytes(new Uint8Array(buffer));
        return { kind: "too_large", bytes: length, exact: false };
      }
      // `transfer` moves the bytes and frees the old buffer at once.
      buffer = buffer.transfer(Math.min(limit, buffer.byteLength * 2));
    }

    // The read detaches the view's buffer and returns the bytes in a new
    // view over the same memory, so `buffer` must follow `value.buffer`.
    const { value, done } = await reader.read(new Uint8Array(buffer, length));
    if (value !== undefined) {
      buffer = value.buffer as ArrayBuffer;
      length += value.byteLength;
    }
    if (done) break;
  }
  reader.releaseLock();

  if (length > maxBytes) {
    releaseBytes(new Uint8Array(buffer));
    return { kind: "too_large", bytes: length, exact: false };
  }
  // With a Content-Length the slack is one byte. Without one it can be
  // half the buffer, which is worth a copy to give back.
  if (declared === undefined && length < buffer.byteLength) {
    buffer = buffer.transfer(length);
  }
  return { kind: "complete", data: new Uint8Array(buffer, 0, length) };
}

/** Reads a stream that has no BYOB reader, chunk by chunk. */
async function readChunks(
  body: ReadableStream<Uint8Array>,
  maxBytes: number,
): Promise<LimitedBody> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    // Leaving the loop cancels the stream, so the rest is never read.
    if (total > maxBytes) {
      return { kind: "too_large", bytes: total, exact: false };
    }
    chunks.push(chunk);
  }

  const data = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    data.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return { kind: "complete", data };
}
