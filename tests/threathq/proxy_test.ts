import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createTestCertificates } from "../support/platform_tls.ts";
import { startConnectProxy } from "../support/threathq_connect_proxy.ts";
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

async function opensslAvailable(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("openssl", {
      args: ["version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

const tlsTest = await opensslAvailable() ? t : t.skip;
if (tlsTest === t.skip) {
  console.log("skipped: openssl not found (HTTPS_PROXY tests)");
}

/** Runs `check` against an HTTPS simulator and a CONNECT proxy. */
async function withHttpsSimulator(
  check: (parts: {
    simulator: ThreatHqSimulator;
    proxy: ReturnType<typeof startConnectProxy>;
    caPath: string;
  }) => Promise<void>,
): Promise<void> {
  const certificates = await createTestCertificates();
  const simulator = startThreatHqSimulator({
    tls: { cert: certificates.certPem, key: certificates.keyPem },
  });
  const proxy = startConnectProxy();
  try {
    await check({ simulator, proxy, caPath: certificates.caPath });
  } finally {
    await proxy.close();
    await simulator.close();
    await certificates.remove();
  }
}

tlsTest("HTTPS_PROXY tunnels with CONNECT", async () => {
  await withHttpsSimulator(async ({ simulator, proxy, caPath }) => {
    assert.match(simulator.url, /^https:\/\/127\.0\.0\.1:/);
    const result = await runChild(simulator, {
      ...baseEnv(),
      HTTPS_PROXY: proxy.url,
      DENO_CERT: caPath,
    });

    assert.is(result.output, "ok 1");
    assert.is(result.code, 0);
    assert.equal(proxy.tunnels, [`127.0.0.1:${simulator.port}`]);
    // The TLS handshake and the request went through the tunnel.
    assert.ok(proxy.relayed.toTarget > 0);
    assert.ok(proxy.relayed.toClient > 0);
    assert.is(simulator.requests.length, 1);
    assert.is(simulator.requests[0].path, "/apiv1/feed/");
    assert.is(simulator.requests[0].status, 200);
  });
});

tlsTest("HTTPS_PROXY still verifies the server", async () => {
  await withHttpsSimulator(async ({ simulator, proxy }) => {
    const result = await runChild(simulator, {
      ...baseEnv(),
      HTTPS_PROXY: proxy.url,
    });

    // Without DENO_CERT the test CA is unknown, so the handshake fails.
    assert.is(result.output, "ThreatHqNetworkError");
    assert.is(result.code, 1);
    assert.equal(proxy.tunnels, [`127.0.0.1:${simulator.port}`]);
    assert.is(simulator.requests.length, 0);
  });
});

tlsTest("NO_PROXY bypasses HTTPS_PROXY", async () => {
  await withHttpsSimulator(async ({ simulator, proxy, caPath }) => {
    const result = await runChild(simulator, {
      ...baseEnv(),
      HTTPS_PROXY: proxy.url,
      NO_PROXY: "127.0.0.1",
      DENO_CERT: caPath,
    });

    assert.is(result.output, "ok 1");
    assert.equal(proxy.tunnels, []);
    assert.is(simulator.requests.length, 1);
  });
});

t.run();
