import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  startThreatHqSimulator,
  type ThreatHqSimulator,
} from "../support/threathq_simulator.ts";

const t = suite("threathq: proxy variables");

const CHILD = new URL("../support/threathq_proxy_child.ts", import.meta.url)
  .pathname;

interface Proxy {
  port: number;
  /** Request targets as the proxy received them (absolute form). */
  seen: string[];
  close(): Promise<void>;
}

/**
 * Starts a forwarding HTTP proxy on loopback. A client that uses it sends
 * absolute-form targets, which arrive here as the request URL; the proxy
 * forwards each one directly, because this process has no proxy set.
 */
function startProxy(): Proxy {
  const seen: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      seen.push(request.url);
      const upstream = await fetch(request.url, {
        method: request.method,
        headers: request.headers,
        body: request.body,
      });
      return new Response(upstream.body, {
        status: upstream.status,
        headers: upstream.headers,
      });
    },
  );
  return {
    port: server.addr.port,
    seen,
    close: () => server.shutdown(),
  };
}

async function runChild(
  simulator: ThreatHqSimulator,
  env: Record<string, string>,
): Promise<{ code: number; output: string }> {
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-env",
      "--allow-read",
      CHILD,
      simulator.url,
      simulator.user,
      simulator.password,
    ],
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stdout } = await command.output();
  return { code, output: new TextDecoder().decode(stdout).trim() };
}

const baseEnv = (): Record<string, string> => ({
  PATH: Deno.env.get("PATH") ?? "",
  HOME: Deno.env.get("HOME") ?? "",
  DENO_DIR: Deno.env.get("DENO_DIR") ?? "",
  NO_COLOR: "1",
});

t("HTTP_PROXY routes requests", async () => {
  const simulator = startThreatHqSimulator({});
  const proxy = startProxy();
  try {
    const result = await runChild(simulator, {
      ...baseEnv(),
      HTTP_PROXY: `http://127.0.0.1:${proxy.port}`,
    });
    assert.is(result.output, "ok 1");
    assert.is(result.code, 0);
    assert.equal(proxy.seen, [`${simulator.url}feed/`]);
    assert.is(simulator.requests.length, 1);
    assert.is(simulator.requests[0].status, 200);
  } finally {
    await proxy.close();
    await simulator.close();
  }
});

t("NO_PROXY bypasses the proxy", async () => {
  const simulator = startThreatHqSimulator({});
  const proxy = startProxy();
  try {
    const result = await runChild(simulator, {
      ...baseEnv(),
      HTTP_PROXY: `http://127.0.0.1:${proxy.port}`,
      NO_PROXY: "127.0.0.1",
    });
    assert.is(result.output, "ok 1");
    assert.equal(proxy.seen, []);
    assert.is(simulator.requests.length, 1);
  } finally {
    await proxy.close();
    await simulator.close();
  }
});

t.run();
