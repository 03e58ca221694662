import { suite } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import type { CliContext } from "../../src/cli/context.ts";
import {
  type HealthcheckDependencies,
  healthzUrl,
  runHealthcheck,
} from "../../src/cli/healthcheck.ts";
import { ConnectorMetrics } from "../../src/health/connector_metrics.ts";
import { RuntimeStatus } from "../../src/health/runtime_status.ts";
import {
  createHealthApp,
  type HealthServer,
  startHealthServer,
} from "../../src/health/server.ts";
import { createMemoryLogger } from "../../src/log/logger.ts";

const t = suite("cli: healthcheck");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** The URLs the fake fetch was called with. */
  requested: string[];
}

/** Runs the command in a temporary working directory with these files. */
async function run(
  args: string[],
  env: Record<string, string>,
  options: {
    files?: Record<string, string>;
    dependencies?: HealthcheckDependencies;
    respond?: (url: string) => Response;
  } = {},
): Promise<Run> {
  const cwd = await Deno.makeTempDir({ prefix: "threathq-healthcheck-" });
  const output = { stdout: "", stderr: "" };
  const requested: string[] = [];
  const context: CliContext = {
    env,
    cwd,
    stdin: new ReadableStream(),
    stdout: (text) => output.stdout += text,
    stderr: (text) => output.stderr += text,
    signal: new AbortController().signal,
  };
  const dependencies: HealthcheckDependencies = { ...options.dependencies };
  if (options.respond !== undefined) {
    const respond = options.respond;
    dependencies.fetch = (input) => {
      requested.push(String(input));
      return Promise.resolve(respond(String(input)));
    };
  }

  try {
    for (const [name, text] of Object.entries(options.files ?? {})) {
      await Deno.writeTextFile(join(cwd, name), text);
    }
    const code = await runHealthcheck(args, context, dependencies);
    return { code, ...output, requested };
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}

const ok = () => new Response("{}", { status: 200 });

/** Starts the real health server on a loopback address with a fresh status. */
function startServer(livenessTimeoutMs?: number, hostname = "127.0.0.1"): {
  server: HealthServer;
  stall: () => void;
} {
  const clock = { time: Date.UTC(2026, 0, 1) };
  const logger = createMemoryLogger();
  const metrics = new ConnectorMetrics({ logger });
  const status = new RuntimeStatus({
    now: () => clock.time,
    metrics,
    livenessTimeoutMs,
    requiresRegistration: false,
    requiresBroker: false,
  });
  const app = createHealthApp({ status, registry: metrics.registry, logger });
  const server = startHealthServer({ app, hostname, port: 0, logger });
  return { server, stall: () => clock.time += 10 * 60_000 };
}

function enabledOn(port: number): Record<string, string> {
  return {
    CONNECTOR_EXPOSE_METRICS: "true",
    CONNECTOR_METRICS_PORT: String(port),
  };
}

t("disabled server exits 1 naming the setting", async () => {
  const result = await run([], {}, { respond: ok });

  assert.is(result.code, 1);
  assert.match(result.stderr, "health server is disabled");
  assert.match(result.stderr, "CONNECTOR_EXPOSE_METRICS=true");
  assert.equal(result.requested, []);
});

t("explicit false exits 1 too", async () => {
  const result = await run([], { CONNECTOR_EXPOSE_METRICS: "false" }, {
    respond: ok,
  });

  assert.is(result.code, 1);
  assert.match(result.stderr, "CONNECTOR_EXPOSE_METRICS");
});

t("healthy server exits 0", async () => {
  const { server } = startServer();
  try {
    const result = await run([], enabledOn(server.port));

    assert.is(result.code, 0);
    assert.is(
      result.stdout,
      `healthy: GET http://127.0.0.1:${server.port}/healthz returned 200\n`,
    );
    assert.is(result.stderr, "");
  } finally {
    await server.shutdown();
  }
});

t("stalled server exits 1", async () => {
  const { server, stall } = startServer(60_000);
  try {
    stall();
    const result = await run([], enabledOn(server.port));

    assert.is(result.code, 1);
    assert.match(result.stderr, "returned 503");
    assert.match(result.stderr, '"alive":false');
  } finally {
    await server.shutdown();
  }
});

function hasIpv6Loopback(): boolean {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
}

const ipv6Test = hasIpv6Loopback() ? t : t.skip;
if (ipv6Test === t.skip) console.log("skipped: no IPv6 loopback (::1)");

ipv6Test("healthy server on ::1 exits 0", async () => {
  const { server } = startServer(undefined, "::1");
  try {
    const result = await run([], {
      ...enabledOn(server.port),
      CONNECTOR_METRICS_BIND_ADDRESS: "::1",
    });

    assert.is(result.code, 0);
    assert.match(result.stdout, `GET http://[::1]:${server.port}/healthz`);
  } finally {
    await server.shutdown();
  }
});

t("nothing listening exits 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();

  const result = await run([], enabledOn(port));

  assert.is(result.code, 1);
  assert.match(result.stderr, `GET http://127.0.0.1:${port}/healthz failed`);
  assert.match(result.stderr, /connection refused/i);
  assert.match(result.stderr, "CONNECTOR_METRICS_PORT");
});

t("silent server times out with 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const connection of listener) accepted.push(connection);
  })();

  try {
    const result = await run([], enabledOn(port), {
      dependencies: { timeoutMs: 100 },
    });

    assert.is(result.code, 1);
    assert.match(result.stderr, "no response within 100 ms");
  } finally {
    listener.close();
    for (const connection of accepted) connection.close();
    await accepting.catch(() => {});
  }
});

t("non-200 answers exit 1", async () => {
  for (const status of [204, 302, 404, 500, 503]) {
    const result = await run([], enabledOn(9095), {
      respond: () =>
        new Response(status === 204 ? null : "x", {
          status,
          headers: status === 302 ? { location: "/elsewhere" } : {},
        }),
    });

    assert.is(result.code, 1, String(status));
    assert.match(result.stderr, `returned ${status}`);
  }
});

t("bind address maps to a local URL", () => {
  const cases: Array<[string, string]> = [
    ["127.0.0.1", "http://127.0.0.1:9095/healthz"],
    ["0.0.0.0", "http://127.0.0.1:9095/healthz"],
    ["::", "http://[::1]:9095/healthz"],
    ["[::]", "http://[::1]:9095/healthz"],
    ["::1", "http://[::1]:9095/healthz"],
    ["[::1]", "http://[::1]:9095/healthz"],
    ["10.1.2.3", "http://10.1.2.3:9095/healthz"],
    ["localhost", "http://localhost:9095/healthz"],
  ];

  for (const [address, url] of cases) {
    assert.is(healthzUrl(address, 9095), url, address);
  }
});

t("requests the address from the settings", async () => {
  const result = await run([], {
    ...enabledOn(9123),
    CONNECTOR_METRICS_BIND_ADDRESS: "0.0.0.0",
  }, { respond: ok });

  assert.is(result.code, 0);
  assert.equal(result.requested, ["http://127.0.0.1:9123/healthz"]);
});

t("default port is 9095", async () => {
  const result = await run([], { CONNECTOR_EXPOSE_METRICS: "yes" }, {
    respond: ok,
  });

  assert.equal(result.requested, ["http://127.0.0.1:9095/healthz"]);
});

t("broken unrelated settings are ignored", async () => {
  const result = await run([], {
    ...enabledOn(9095),
    CONNECTOR_ID: "not-a-uuid",
    OPENCTI_URL: "ftp://nowhere",
    COFENSE_THREATHQ_API_RETRY: "-1",
    CONNECTOR_LOG_LEVEL: "loud",
  }, { respond: ok });

  assert.is(result.code, 0);
  assert.is(result.stderr, "");
});

t("invalid port exits 1 naming it", async () => {
  const result = await run([], {
    CONNECTOR_EXPOSE_METRICS: "true",
    CONNECTOR_METRICS_PORT: "70000",
  }, { respond: ok });

  assert.is(result.code, 1);
  assert.match(
    result.stderr,
    "connector.metrics_port (CONNECTOR_METRICS_PORT)",
  );
  assert.match(result.stderr, "from environment");
  assert.match(result.stderr, "expected a whole number from 1 to 65535");
  assert.equal(result.requested, []);
});

t(".env file takes precedence", async () => {
  const result = await run([], enabledOn(9000), {
    files: { ".env": "CONNECTOR_METRICS_PORT=9200\n" },
    respond: ok,
  });

  assert.is(result.code, 0);
  assert.equal(result.requested, ["http://127.0.0.1:9200/healthz"]);
});

t("--config reads a YAML file", async () => {
  const yaml = "connector:\n  expose_metrics: true\n  metrics_port: 9301\n";
  const cwd = await Deno.makeTempDir({ prefix: "threathq-healthcheck-" });
  const path = join(cwd, "settings.yml");
  await Deno.writeTextFile(path, yaml);

  try {
    const separate = await run(["--config", path], {}, { respond: ok });
    const joined = await run([`--config=${path}`], {}, { respond: ok });

    assert.is(separate.code, 0);
    assert.equal(separate.requested, ["http://127.0.0.1:9301/healthz"]);
    assert.is(joined.code, 0);
    assert.equal(joined.requested, ["http://127.0.0.1:9301/healthz"]);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});

t("missing --config file exits 1", async () => {
  const result = await run(["--config", "/nonexistent/settings.yml"], {}, {
    respond: ok,
  });

  assert.is(result.code, 1);
  assert.match(result.stderr, "file not found: /nonexistent/settings.yml");
});

t("bad usage exits 1 with help", async () => {
  const unknown = await run(["--verbose"], {}, { respond: ok });
  const noPath = await run(["--config"], {}, { respond: ok });

  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, 'unknown argument "--verbose"');
  assert.match(unknown.stderr, "Usage: threathq-connector healthcheck");
  assert.is(noPath.code, 1);
  assert.match(noPath.stderr, "--config needs a file path");
});

t("--help lists flags and settings", async () => {
  const result = await run(["--help"], {});

  assert.is(result.code, 0);
  assert.match(result.stdout, "--config PATH");
  assert.match(result.stdout, "2.5 seconds");
  assert.match(result.stdout, /CONNECTOR_EXPOSE_METRICS\s.*Default: false\./);
  assert.match(result.stdout, /CONNECTOR_METRICS_PORT\s.*Default: 9095\./);
  assert.match(
    result.stdout,
    /CONNECTOR_METRICS_BIND_ADDRESS\s.*Default: 127\.0\.0\.1\./,
  );
});

t("--version prints the version", async () => {
  const result = await run(["--version"], {});

  assert.is(result.code, 0);
  assert.match(result.stdout, /^threathq-connector \d+\.\d+\.\d+\n$/);
});

t.run();
