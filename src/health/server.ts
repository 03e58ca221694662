/**
 * The health and metrics server: a Hono app with `/healthz` (liveness),
 * `/readyz` (readiness) and `/metrics` (Prometheus text), and its start and
 * stop on a TCP port.
 *
 * Every body passes through `redactSecrets` before it is sent, and a failed
 * handler returns a fixed message, so no response contains a registered
 * secret, URL credentials or a stack trace.
 */
import { type Context, Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { Logger } from "../log/logger.ts";
import { VERSION } from "../version.ts";
import type { MetricRegistry } from "./metrics.ts";
import {
  formatPrometheusText,
  PROMETHEUS_CONTENT_TYPE,
} from "./prometheus_text.ts";
import { redactSecrets } from "./redact.ts";
import type { RuntimeStatus } from "./runtime_status.ts";

export interface HealthAppOptions {
  status: RuntimeStatus;
  registry: MetricRegistry;
  logger: Logger;
  /** Values never returned, such as tokens and passwords. */
  secrets?: readonly string[];
}

const PATHS = ["/healthz", "/readyz", "/metrics"] as const;
const ALLOWED_METHODS = "GET, HEAD";
const JSON_CONTENT_TYPE = "application/json; charset=utf-8";

/** Creates the Hono app; test it with `app.request(path)` without a port. */
export function createHealthApp(options: HealthAppOptions): Hono {
  const secrets = options.secrets ?? [];
  const send = (
    context: Context,
    status: ContentfulStatusCode,
    contentType: string,
    body: string,
  ) => {
    context.header("Content-Type", contentType);
    context.header("Cache-Control", "no-store");
    context.header("X-Content-Type-Options", "nosniff");
    return context.body(redactSecrets(body, secrets), status);
  };
  const sendJson = (
    context: Context,
    status: ContentfulStatusCode,
    value: unknown,
  ) => send(context, status, JSON_CONTENT_TYPE, JSON.stringify(value) + "\n");

  const app = new Hono();

  // GET routes also serve HEAD: Hono runs the GET handler and drops the body.
  app.get("/healthz", (context) => {
    const report = { ...options.status.healthReport(), version: VERSION };
    return sendJson(context, report.alive ? 200 : 503, report);
  });
  app.get("/readyz", (context) => {
    const report = options.status.readinessReport();
    return sendJson(context, report.ready ? 200 : 503, report);
  });
  app.get("/metrics", (context) => {
    const text = formatPrometheusText(options.registry.collect());
    return send(context, 200, PROMETHEUS_CONTENT_TYPE, text);
  });

  for (const path of PATHS) {
    app.all(path, (context) => {
      context.header("Allow", ALLOWED_METHODS);
      return sendJson(context, 405, {
        error:
          `method ${context.req.method} is not allowed on ${path}; use GET or HEAD`,
      });
    });
  }

  app.notFound((context) =>
    sendJson(context, 404, {
      error: `not found; this server serves ${PATHS.join(", ")}`,
    })
  );
  app.onError((error, context) => {
    options.logger.error("Health server request failed", {
      path: context.req.path,
      error: redactSecrets(String(error), secrets),
    });
    return sendJson(context, 500, { error: "internal error; see the logs" });
  });
  return app;
}

/** Failure to listen on the health server's address. */
export class HealthServerError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "HealthServerError";
  }
}

export interface HealthServerOptions {
  app: Hono;
  /** `connector.metrics_bind_address`; IPv6 addresses may be bracketed. */
  hostname: string;
  /** `connector.metrics_port`; 0 picks a free port (tests). */
  port: number;
  logger: Logger;
  /** Stops the server when aborted, as `shutdown()` does. */
  signal?: AbortSignal;
}

export interface HealthServer {
  hostname: string;
  /** The port listened on; differs from the requested one for port 0. */
  port: number;
  /** Stops accepting connections and waits for requests in flight. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
}

/** Starts listening; throws HealthServerError when the address is unusable. */
export function startHealthServer(options: HealthServerOptions): HealthServer {
  const hostname = options.hostname.replace(/^\[(.*)\]$/, "$1");
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname,
      port: options.port,
      signal: options.signal,
      onListen: () => {},
    }, options.app.fetch);
  } catch (error) {
    throw new HealthServerError(
      `Health server failed to listen on ${hostname} port ${options.port}: ${
        (error as Error).message
      }; set CONNECTOR_METRICS_PORT to a free port or CONNECTOR_METRICS_BIND_ADDRESS to an address of this host`,
      { cause: error },
    );
  }

  const port = server.addr.port;
  options.logger.info("Health server listening", { hostname, port });
  const finished = server.finished.then(() => {
    options.logger.info("Health server stopped", { hostname, port });
  });
  return {
    hostname,
    port,
    finished,
    shutdown: async () => {
      await server.shutdown();
      await finished;
    },
  };
}
