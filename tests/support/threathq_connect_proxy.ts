/**
 * A CONNECT proxy on loopback for the HTTPS_PROXY test. It opens a tunnel
 * to the requested host and port and relays bytes both ways without
 * reading them, as an HTTPS proxy does. It rejects any target that is not
 * a loopback address with HTTP 403, and any other method with 405.
 */

export interface ConnectProxy {
  /** `http://127.0.0.1:<port>`, the value for HTTPS_PROXY. */
  readonly url: string;
  /** The `host:port` of each tunnel opened, in order. */
  readonly tunnels: string[];
  /** Bytes relayed from the client to the target and back. */
  readonly relayed: { toTarget: number; toClient: number };
  close(): Promise<void>;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);
const HEAD_END = new TextEncoder().encode("\r\n\r\n");
const MAX_HEAD_BYTES = 8192;

function indexOfHeadEnd(bytes: Uint8Array): number {
  outer: for (let i = 0; i + HEAD_END.length <= bytes.length; i++) {
    for (let j = 0; j < HEAD_END.length; j++) {
      if (bytes[i + j] !== HEAD_END[j]) continue outer;
    }
    return i;
  }
  return -1;
}

/** Reads the request head; returns it and any bytes read after it. */
async function readHead(
  conn: Deno.Conn,
): Promise<{ head: string; rest: Uint8Array } | undefined> {
  let buffered = new Uint8Array(0);
  const chunk = new Uint8Array(4096);
  while (buffered.length < MAX_HEAD_BYTES) {
    const read = await conn.read(chunk);
    if (read === null) return undefined;

    const next = new Uint8Array(buffered.length + read);
    next.set(buffered, 0);
    next.set(chunk.subarray(0, read), buffered.length);
    buffered = next;

    const end = indexOfHeadEnd(buffered);
    if (end >= 0) {
      return {
        head: new TextDecoder().decode(buffered.subarray(0, end)),
        rest: buffered.slice(end + HEAD_END.length),
      };
    }
  }
  return undefined;
}

/** Splits `host:port`, where host may be a bracketed IPv6 address. */
function parseTarget(
  target: string,
): { hostname: string; port: number } | undefined {
  const match = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(target);
  if (match === null || !LOOPBACK_HOSTS.has(match[1])) return undefined;
  return { hostname: match[1].replace(/^\[|\]$/g, ""), port: Number(match[2]) };
}

async function reply(conn: Deno.Conn, status: string): Promise<void> {
  await conn.write(new TextEncoder().encode(`HTTP/1.1 ${status}\r\n\r\n`));
}

/** Copies `from` to `to`, counting bytes, until either side ends. */
async function relay(
  from: Deno.Conn,
  to: Deno.Conn,
  count: (bytes: number) => void,
): Promise<void> {
  const buffer = new Uint8Array(16 * 1024);
  try {
    while (true) {
      const read = await from.read(buffer);
      if (read === null) break;
      count(read);
      let written = 0;
      while (written < read) {
        written += await to.write(buffer.subarray(written, read));
      }
    }
  } catch {
    // A reset or a closed socket ends the tunnel.
  } finally {
    try {
      to.closeWrite();
    } catch {
      // Already closed.
    }
  }
}

/** Starts the proxy on 127.0.0.1 and a free port. */
export function startConnectProxy(): ConnectProxy {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const tunnels: string[] = [];
  const relayed = { toTarget: 0, toClient: 0 };
  const open = new Set<Deno.Conn>();
  const handlers = new Set<Promise<void>>();

  async function handle(client: Deno.Conn): Promise<void> {
    open.add(client);
    let upstream: Deno.Conn | undefined;
    try {
      const request = await readHead(client);
      if (request === undefined) return;
      const [method, target] = request.head.split("\r\n")[0].split(" ");
      if (method !== "CONNECT") {
        return await reply(client, "405 Method Not Allowed");
      }
      const address = parseTarget(target ?? "");
      if (address === undefined) return await reply(client, "403 Forbidden");

      upstream = await Deno.connect(address);
      open.add(upstream);
      tunnels.push(target);
      await reply(client, "200 Connection Established");
      if (request.rest.length > 0) {
        relayed.toTarget += request.rest.length;
        await upstream.write(request.rest);
      }
      await Promise.all([
        relay(client, upstream, (bytes) => relayed.toTarget += bytes),
        relay(upstream, client, (bytes) => relayed.toClient += bytes),
      ]);
    } catch {
      // A client that hangs up early ends its own tunnel only.
    } finally {
      for (const conn of [client, upstream]) {
        if (conn === undefined) continue;
        open.delete(conn);
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }
    }
  }

  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        const handler = handle(conn);
        handlers.add(handler);
        handler.finally(() => handlers.delete(handler));
      }
    } catch {
      // The listener was closed.
    }
  })();

  return {
    url: `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    tunnels,
    relayed,
    async close() {
      listener.close();
      for (const conn of open) {
        try {
          conn.close();
        } catch {
          // Already closed.
        }
      }
      await accepting;
      await Promise.all(handlers);
    },
  };
}
