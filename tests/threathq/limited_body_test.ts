import { suite } from "uvu";
import * as assert from "uvu/assert";
import { readLimited, releaseBytes } from "../../src/threathq/limited_body.ts";

const t = suite("threathq: limited body");

/** Bytes 0, 1, 2, ... 250, 0, 1, ... so that misplaced chunks show. */
function pattern(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = i % 251;
  return bytes;
}

interface Served {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `body` on loopback, with a Content-Length when `declareLength`,
 * else as a chunked stream of `chunkBytes` pieces.
 */
function serve(
  body: Uint8Array,
  declareLength: boolean,
  chunkBytes = 10_000,
): Served {
  const server = Deno.serve({ port: 0, onListen: () => {} }, () => {
    if (declareLength) return new Response(body as Uint8Array<ArrayBuffer>);

    let offset = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= body.byteLength) return controller.close();
        controller.enqueue(body.slice(offset, offset + chunkBytes));
        offset += chunkBytes;
      },
    });
    return new Response(stream);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    close: () => server.shutdown(),
  };
}

async function fetchLimited(served: Served, maxBytes: number) {
  return readLimited(await fetch(served.url), maxBytes);
}

t("Content-Length body in one buffer", async () => {
  const body = pattern(300_000);
  const served = serve(body, true);
  try {
    const result = await fetchLimited(served, 1_000_000);
    assert.is(result.kind, "complete");
    if (result.kind !== "complete") return;
    assert.equal(result.data, body);
    // One buffer of the declared size plus the byte that detects excess.
    assert.is(result.data.buffer.byteLength, body.byteLength + 1);
  } finally {
    await served.close();
  }
});

t("chunked body grows and shrinks", async () => {
  const body = pattern(200_003);
  const served = serve(body, false);
  try {
    const result = await fetchLimited(served, 1_000_000);
    assert.is(result.kind, "complete");
    if (result.kind !== "complete") return;
    assert.equal(result.data, body);
    assert.is(result.data.buffer.byteLength, body.byteLength);
  } finally {
    await served.close();
  }
});

t("chunked body of exactly the limit", async () => {
  const body = pattern(70_000);
  const served = serve(body, false);
  try {
    const result = await fetchLimited(served, 70_000);
    assert.is(result.kind, "complete");
    if (result.kind === "complete") assert.equal(result.data, body);
  } finally {
    await served.close();
  }
});

t("declared length over the limit", async () => {
  const served = serve(pattern(5000), true);
  try {
    const result = await fetchLimited(served, 4999);
    assert.equal(result, { kind: "too_large", bytes: 5000, exact: true });
  } finally {
    await served.close();
  }
});

t("chunked body over the limit", async () => {
  const served = serve(pattern(500_000), false);
  try {
    const result = await fetchLimited(served, 100_000);
    assert.equal(result, { kind: "too_large", bytes: 100_001, exact: false });
  } finally {
    await served.close();
  }
});

t("empty body", async () => {
  const served = serve(new Uint8Array(0), true);
  try {
    const result = await fetchLimited(served, 10);
    assert.is(result.kind, "complete");
    if (result.kind === "complete") assert.is(result.data.byteLength, 0);
  } finally {
    await served.close();
  }
});

t("null body", async () => {
  const result = await readLimited(new Response(null), 10);
  assert.equal(result, { kind: "complete", data: new Uint8Array(0) });
});

/** Returns a default stream, not a byte stream, of the given chunks. */
function defaultStream(chunks: Uint8Array[]): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
}

t("stream without BYOB reader", async () => {
  // Unlike a fetch body, a default stream has no BYOB reader.
  assert.throws(() => defaultStream([]).getReader({ mode: "byob" }), TypeError);

  const body = defaultStream([pattern(3), pattern(4)]);
  const result = await readLimited(new Response(body), 10);
  assert.equal(result, {
    kind: "complete",
    data: new Uint8Array([0, 1, 2, 0, 1, 2, 3]),
  });

  const over = defaultStream([pattern(8), pattern(8)]);
  const large = await readLimited(new Response(over), 10);
  assert.equal(large, { kind: "too_large", bytes: 16, exact: false });
});

t("releaseBytes detaches the buffer", () => {
  const data = pattern(1024).subarray(10, 20);
  const buffer = data.buffer as ArrayBuffer;
  releaseBytes(data);
  assert.ok(buffer.detached);
  assert.is(data.byteLength, 0);
  // A second release of the same bytes does nothing.
  releaseBytes(data);
  assert.ok(buffer.detached);
});

t("releaseBytes leaves shared memory", () => {
  const data = new Uint8Array(new SharedArrayBuffer(16));
  releaseBytes(data);
  assert.is(data.byteLength, 16);
});

t.run();
