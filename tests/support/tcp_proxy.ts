/**
 * A TCP proxy on 127.0.0.1 that tests control, to break a client's
 * connection to a real server at a chosen moment: cut every open
 * connection, hold the bytes in one direction, or refuse new connections.
 */

export type Direction = "toServer" | "toClient";

export interface TcpProxy {
  /** The port the proxy listens on, on 127.0.0.1. */
  readonly port: number;
  /** Connections accepted so far, refused ones included. */
  readonly accepted: number;
  /** Closes every open connection, both sides. New ones are still accepted. */
  cut(): void;
  /** Holds the bytes going in the given directions until `resume`. */
  pause(directions?: Direction[]): void;
  /** Forwards the held bytes and everything after them. */
  resume(): void;
  /** While on, closes each new connection as soon as it is accepted. */
  refuseConnections(refuse: boolean): void;
  /** Bytes read so far from the senders in each direction, held ones too. */
  bytesRead(direction: Direction): number;
  /** Resolves once `bytesRead(direction)` reaches `minimum`. */
  waitForBytes(direction: Direction, minimum: number): Promise<void>;
  /** Closes the listener and every connection. */
  stop(): Promise<void>;
}

export interface TcpProxyOptions {
  /** `host:port` of the server, such as `127.0.0.1:5672`. */
  target: string;
  /**
   * Certificate and key (PEM) to accept TLS with: clients then speak TLS
   * to the proxy, and the proxy speaks plain TCP to the target.
   */
  tls?: { cert: string; key: string };
}

const BUFFER_BYTES = 64 * 1024;

interface Gate {
  paused: Set<Direction>;
  waiters: Array<() => void>;
  read: Record<Direction, number>;
  /** Called after every read, to wake `waitForBytes`. */
  onRead: Set<() => void>;
}

/** Starts a proxy to `target` on a free port. */
export function startTcpProxy(options: TcpProxyOptions): TcpProxy {
  const [hostname, portText] = splitTarget(options.target);
  const listener: Deno.Listener = options.tls === undefined
    ? Deno.listen({ hostname: "127.0.0.1", port: 0 })
    : Deno.listenTls({ hostname: "127.0.0.1", port: 0, ...options.tls });
  const open = new Set<Deno.Conn>();
  const gate: Gate = {
    paused: new Set(),
    waiters: [],
    read: { toServer: 0, toClient: 0 },
    onRead: new Set(),
  };
  let accepted = 0;
  let refusing = false;

  const closeQuietly = (conn: Deno.Conn) => {
    open.delete(conn);
    try {
      conn.close();
    } catch {
      // Already closed by the other pump.
    }
  };

  const serve = async (client: Deno.Conn) => {
    let server: Deno.Conn;
    try {
      server = await Deno.connect({ hostname, port: Number(portText) });
    } catch {
      closeQuietly(client);
      return;
    }
    open.add(server);
    const closeBoth = () => {
      closeQuietly(client);
      closeQuietly(server);
    };
    await Promise.all([
      pump(client, server, "toServer", gate).finally(closeBoth),
      pump(server, client, "toClient", gate).finally(closeBoth),
    ]);
  };

  const acceptLoop = (async () => {
    for await (const client of listener) {
      accepted += 1;
      open.add(client);
      if (refusing) closeQuietly(client);
      else serve(client);
    }
  })().catch(() => {});

  const resume = () => {
    gate.paused.clear();
    for (const wake of gate.waiters.splice(0)) wake();
  };

  return {
    port: (listener.addr as Deno.NetAddr).port,
    get accepted() {
      return accepted;
    },
    cut() {
      for (const conn of [...open]) closeQuietly(conn);
    },
    pause(directions = ["toServer", "toClient"]) {
      for (const direction of directions) gate.paused.add(direction);
    },
    resume,
    refuseConnections(refuse) {
      refusing = refuse;
    },
    bytesRead: (direction) => gate.read[direction],
    waitForBytes(direction, minimum) {
      return new Promise((resolve) => {
        const check = () => {
          if (gate.read[direction] < minimum) return;
          gate.onRead.delete(check);
          resolve();
        };
        gate.onRead.add(check);
        check();
      });
    },
    async stop() {
      resume();
      listener.close();
      for (const conn of [...open]) closeQuietly(conn);
      await acceptLoop;
    },
  };
}

function splitTarget(target: string): [string, string] {
  const colon = target.lastIndexOf(":");
  if (colon <= 0) {
    throw new Error(
      `Invalid proxy target ${target}; expected host:port such as 127.0.0.1:5672`,
    );
  }
  return [target.slice(0, colon), target.slice(colon + 1)];
}

/** Copies bytes from one connection to the other until either closes. */
async function pump(
  from: Deno.Conn,
  to: Deno.Conn,
  direction: Direction,
  gate: Gate,
): Promise<void> {
  const buffer = new Uint8Array(BUFFER_BYTES);
  try {
    while (true) {
      const count = await from.read(buffer);
      if (count === null) return;

      gate.read[direction] += count;
      for (const check of [...gate.onRead]) check();
      while (gate.paused.has(direction)) {
        await new Promise<void>((wake) => gate.waiters.push(wake));
      }
      await writeAll(to, buffer.subarray(0, count));
    }
  } catch {
    // A cut or a peer reset ends the pump; the caller closes both sides.
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    offset += await conn.write(bytes.subarray(offset));
  }
}
