/**
 * A ThreatHQ API simulator on loopback, for tests, benchmarks and demos.
 * It serves `threat/updates` with opaque positions and pages of a chosen
 * size, `threat/search` by `threatId` with paging, the malware and phish
 * details, `t3/malware/{id}/pdf`, `screenshot/{id}` (a PNG for each phish
 * threat that names a screenshot) and `feed/`. It checks HTTP Basic auth and
 * wraps JSON in the `{"success": …, "data": …}` envelope. Faults are
 * injected on request, and every request is recorded with its arrival time.
 *
 * Control endpoints outside the API path, without auth:
 * `GET /_simulator/requests`, `POST /_simulator/faults` (a `Fault` as
 * JSON) and `DELETE /_simulator/faults`.
 */
import { Hono } from "hono";
import type { Context, Next } from "hono";
import {
  type ChangelogEvent,
  generatePdf,
  generatePng,
  MIN_PNG_BYTES,
} from "./threat_generator.ts";

export type SimThreatType = "malware" | "phish";

/** Endpoint names, the same as the client's metric names. */
export type SimEndpoint =
  | "threat/updates"
  | "threat/search"
  | "threat/malware/{id}"
  | "threat/phish/{id}"
  | "t3/malware/{id}/pdf"
  | "screenshot/{id}"
  | "feed"
  | "unknown";

export type FaultKind =
  /** Delays the response. */
  | { kind: "latency"; ms: number }
  /** Responds with this status and an error envelope. */
  | { kind: "status"; status: number; retryAfter?: string }
  /** Never responds, so the client has to time out. */
  | { kind: "timeout" }
  /** Responds 200 with the first half of the JSON body. */
  | { kind: "truncated" }
  /** Responds 401 whatever the credentials. */
  | { kind: "unauthorized" };

export type Fault = FaultKind & {
  /** Which requests it hits; all when absent. */
  match?: { endpoint?: SimEndpoint; method?: string; threatId?: number };
  /** How many requests it hits (default 1; `Infinity` for every one). */
  times?: number;
};

export interface RecordedRequest {
  /** Arrival time in epoch milliseconds, with a fraction. */
  timeMs: number;
  method: string;
  endpoint: SimEndpoint;
  path: string;
  query: string;
  status: number;
  /** The fault that answered, if any. */
  fault?: FaultKind["kind"];
}

export interface SimulatorOptions {
  /** 0 picks a free port. */
  port?: number;
  hostname?: string;
  /** PEM certificate chain and key: serve HTTPS instead of HTTP. */
  tls?: { cert: string; key: string };
  user?: string;
  password?: string;
  /** The API's path prefix. */
  basePath?: string;
  /** Changelog entries per `threat/updates` page (ThreatHQ: up to 1000). */
  pageSize?: number;
  /** The largest `resultsPerPage` of `threat/search` (ThreatHQ: 100). */
  maxResultsPerPage?: number;
  /** Latency added to every API request, in milliseconds. */
  latencyMs?: number;
  /** Size of each generated PDF report, in bytes. */
  pdfBytes?: number;
  /** Size of each generated PNG screenshot, in bytes (at least 92). */
  screenshotBytes?: number;
  /** Threat details: objects with an integer `id` and a `threatType`. */
  threats?: readonly unknown[];
  /** The changelog; one event per threat at its `lastPublished` if absent. */
  changelog?: readonly ChangelogEvent[];
  /** Epoch milliseconds of a request's arrival. */
  now?: () => number;
}

export interface ThreatHqSimulator {
  /** The API base URL, such as `http://127.0.0.1:40123/apiv1/` (https with `tls`). */
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly requests: RecordedRequest[];
  /** Threats skipped because they had no integer `id` or known type. */
  readonly rejectedThreats: number;
  /** Adds or replaces a threat and appends its changelog event. */
  publish(threat: unknown, occurredOn?: number): void;
  /** Removes a threat and appends a `deleted: true` event. */
  delete(
    threatType: SimThreatType,
    threatId: number,
    occurredOn?: number,
  ): void;
  /** Leaves a threat out of `threat/search` results (the detail still works). */
  hideFromSearch(threatType: SimThreatType, threatId: number): void;
  /** Serves these bytes as the PDF report (null: answer 500). */
  setPdf(threatId: number, body: Uint8Array | null): void;
  /** Serves these bytes as the phish screenshot (null: respond 404). */
  setScreenshot(threatId: number, body: Uint8Array | null): void;
  /** Makes every position issued so far invalid (HTTP 400). */
  expirePositions(): void;
  injectFault(fault: Fault): void;
  clearFaults(): void;
  /** Requests of one endpoint, in arrival order. */
  requestsTo(endpoint: SimEndpoint): RecordedRequest[];
  close(): Promise<void>;
}

const MS_LIKE_TIMESTAMP = 1e11;

function keyOf(threatType: SimThreatType, threatId: number): string {
  return `${threatType}:${threatId}`;
}

function threatKey(
  threat: unknown,
): { threatType: SimThreatType; threatId: number } | undefined {
  if (typeof threat !== "object" || threat === null) return undefined;

  const { id, threatType } = threat as Record<string, unknown>;
  const type = typeof threatType === "string" ? threatType.toLowerCase() : "";
  if (!Number.isSafeInteger(id)) return undefined;
  if (type !== "malware" && type !== "phish") return undefined;
  return { threatType: type, threatId: id as number };
}

function endpointOf(method: string, apiPath: string): SimEndpoint {
  if (method === "POST" && apiPath === "threat/updates") {
    return "threat/updates";
  }
  if (method === "POST" && apiPath === "threat/search") return "threat/search";
  if (method === "GET" && /^threat\/malware\/\d+$/.test(apiPath)) {
    return "threat/malware/{id}";
  }
  if (method === "GET" && /^threat\/phish\/\d+$/.test(apiPath)) {
    return "threat/phish/{id}";
  }
  if (method === "GET" && /^t3\/malware\/\d+\/pdf$/.test(apiPath)) {
    return "t3/malware/{id}/pdf";
  }
  if (method === "GET" && /^screenshot\/\d+$/.test(apiPath)) {
    return "screenshot/{id}";
  }
  if (method === "GET" && /^feed\/?$/.test(apiPath)) return "feed";
  return "unknown";
}

function threatIdOf(apiPath: string): number | undefined {
  const match = /^(?:threat\/\w+|t3\/malware|screenshot)\/(\d+)/.exec(
    apiPath,
  );
  return match === null ? undefined : Number(match[1]);
}

function failure(c: Context, status: number, message: string) {
  return c.json(
    { success: false, data: { exception: message } },
    status as 400,
  );
}

/** Starts a simulator; `close()` stops it. */
export function startThreatHqSimulator(
  options: SimulatorOptions = {},
): ThreatHqSimulator {
  const user = options.user ?? "simulator-user";
  const password = options.password ?? "simulator-password";
  const basePath = "/" +
    (options.basePath ?? "/apiv1").replace(/^\/+|\/+$/g, "");
  const pageSize = options.pageSize ?? 1000;
  const maxResultsPerPage = options.maxResultsPerPage ?? 100;
  const pdfBytes = options.pdfBytes ?? 20_000;
  const screenshotBytes = Math.max(
    MIN_PNG_BYTES,
    options.screenshotBytes ?? 2_000,
  );
  const now = options.now ?? (() => performance.timeOrigin + performance.now());
  const expectedAuth = "Basic " +
    new TextEncoder().encode(`${user}:${password}`).toBase64();

  const threats = new Map<string, Record<string, unknown>>();
  const hidden = new Set<string>();
  const pdfOverrides = new Map<number, Uint8Array | null>();
  const screenshotOverrides = new Map<number, Uint8Array | null>();
  const changelog: ChangelogEvent[] = [];
  const positions = new Map<string, number>();
  const expired = new Set<string>();
  const faults: Fault[] = [];
  const requests: RecordedRequest[] = [];
  const pendingHangs = new Set<() => void>();
  let rejectedThreats = 0;

  for (const threat of options.threats ?? []) {
    const key = threatKey(threat);
    if (key === undefined) {
      rejectedThreats++;
      continue;
    }
    threats.set(
      keyOf(key.threatType, key.threatId),
      threat as Record<string, unknown>,
    );
    if (options.changelog === undefined) {
      const published = (threat as Record<string, unknown>).lastPublished;
      changelog.push({
        ...key,
        occurredOn: typeof published === "number" ? published : now(),
        deleted: false,
      });
    }
  }
  changelog.push(...options.changelog ?? []);
  changelog.sort((a, b) => a.occurredOn - b.occurredOn);

  const issuePosition = (index: number) => {
    const position = crypto.randomUUID();
    positions.set(position, index);
    return position;
  };

  const takeFault = (
    endpoint: SimEndpoint,
    method: string,
    threatId: number | undefined,
  ): FaultKind | undefined => {
    const index = faults.findIndex((fault) =>
      (fault.match?.endpoint === undefined ||
        fault.match.endpoint === endpoint) &&
      (fault.match?.method === undefined || fault.match.method === method) &&
      (fault.match?.threatId === undefined || fault.match.threatId === threatId)
    );
    if (index < 0) return undefined;

    const fault = faults[index];
    const times = (fault.times ?? 1) - 1;
    if (times <= 0) faults.splice(index, 1);
    else fault.times = times;
    return fault;
  };

  // Waits end early when the simulator closes, so `close()` never hangs.
  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        pendingHangs.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      pendingHangs.add(done);
    });

  const app = new Hono({ strict: false });

  app.get("/_simulator/requests", (c) => c.json(requests));
  app.post("/_simulator/faults", async (c) => {
    faults.push(await c.req.json<Fault>());
    return c.json({ faults: faults.length });
  });
  app.delete("/_simulator/faults", (c) => {
    faults.length = 0;
    return c.json({ faults: 0 });
  });

  const api = new Hono({ strict: false });

  // Records the request, then applies latency, faults and auth, in order.
  api.use("*", async (c: Context, next: Next) => {
    const url = new URL(c.req.url);
    const apiPath = url.pathname.slice(basePath.length).replace(/^\/+/, "");
    const endpoint = endpointOf(c.req.method, apiPath);
    const record: RecordedRequest = {
      timeMs: now(),
      method: c.req.method,
      endpoint,
      path: url.pathname,
      query: url.search,
      status: 0,
    };
    requests.push(record);

    if ((options.latencyMs ?? 0) > 0) await wait(options.latencyMs!);

    const fault = takeFault(endpoint, c.req.method, threatIdOf(apiPath));
    if (fault?.kind === "latency") await wait(fault.ms);
    record.fault = fault?.kind;

    if (fault?.kind === "timeout") {
      await wait(3600_000);
      record.status = 0;
      return c.body(null, 504);
    }
    if (fault?.kind === "unauthorized") {
      record.status = 401;
      return failure(c, 401, "Failed to authorize");
    }
    if (c.req.header("authorization") !== expectedAuth) {
      record.status = 401;
      return failure(c, 401, "Failed to authorize");
    }
    if (fault?.kind === "status") {
      record.status = fault.status;
      const response = failure(
        c,
        fault.status,
        `Simulated HTTP ${fault.status}`,
      );
      if (fault.retryAfter !== undefined) {
        response.headers.set("retry-after", fault.retryAfter);
      }
      return response;
    }

    await next();
    record.status = c.res.status;
    if (fault?.kind === "truncated") {
      const text = await c.res.text();
      c.res = new Response(text.slice(0, Math.floor(text.length / 2)), {
        status: 200,
        headers: { "content-type": "application/json" },
      });
    }
  });

  api.post("/threat/updates", (c) => {
    const position = c.req.query("position");
    const timestamp = c.req.query("timestamp");
    if ((position === undefined) === (timestamp === undefined)) {
      return failure(c, 400, "Send exactly one of position and timestamp");
    }

    let start: number;
    if (position !== undefined) {
      const index = positions.get(position);
      if (index === undefined || expired.has(position)) {
        return failure(c, 400, `Invalid position: ${position}`);
      }
      start = index;
    } else {
      if (!/^\d+$/.test(timestamp!)) {
        return failure(c, 400, "timestamp must be epoch seconds");
      }
      const seconds = Number(timestamp);
      // ThreatHQ returns an empty list for a timestamp in milliseconds.
      start = seconds > MS_LIKE_TIMESTAMP
        ? changelog.length
        : changelog.findIndex((event) => event.occurredOn >= seconds * 1000);
      if (start < 0) start = changelog.length;
    }

    const page = changelog.slice(start, start + pageSize);
    return c.json({
      success: true,
      data: {
        nextPosition: issuePosition(start + page.length),
        changelog: page,
      },
    });
  });

  api.post("/threat/search", (c) => {
    const ids = c.req.queries("threatId") ?? [];
    const requested = Number(c.req.query("resultsPerPage") ?? 100);
    const perPage = Math.max(1, Math.min(maxResultsPerPage, requested));
    const page = Number(c.req.query("page") ?? 0);

    const found: Array<Record<string, unknown>> = [];
    for (const id of ids) {
      const match = /^([mp])_(\d+)$/.exec(id);
      if (match === null) return failure(c, 400, `Invalid threatId: ${id}`);
      const key = keyOf(
        match[1] === "m" ? "malware" : "phish",
        Number(match[2]),
      );
      const threat = threats.get(key);
      if (threat !== undefined && !hidden.has(key)) found.push(threat);
    }
    if (ids.length === 0) found.push(...threats.values());

    const totalPages = Math.ceil(found.length / perPage);
    const slice = found.slice(page * perPage, (page + 1) * perPage);
    return c.json({
      success: true,
      data: {
        page: {
          currentPage: page,
          currentElements: slice.length,
          totalPages,
          totalElements: found.length,
        },
        threats: slice,
      },
    });
  });

  const detail = (threatType: SimThreatType) => (c: Context) => {
    const threat = threats.get(keyOf(threatType, Number(c.req.param("id"))));
    if (threat === undefined) return failure(c, 404, "Threat not found");
    return c.json({ success: true, data: threat });
  };
  api.get("/threat/malware/:id{[0-9]+}", detail("malware"));
  api.get("/threat/phish/:id{[0-9]+}", detail("phish"));

  api.get("/t3/malware/:id{[0-9]+}/pdf", (c) => {
    const threatId = Number(c.req.param("id"));
    const override = pdfOverrides.get(threatId);
    const threat = threats.get(keyOf("malware", threatId));
    if (override === null || threat === undefined) {
      return failure(c, 500, "No threat report found for given report_id");
    }
    if (override === undefined && threat.hasReport !== true) {
      return failure(c, 500, "No threat report found for given report_id");
    }

    const body = override ?? generatePdf(threatId, pdfBytes);
    return c.body(body as Uint8Array<ArrayBuffer>, 200, {
      "content-type": "application/pdf",
    });
  });

  api.get("/screenshot/:id{[0-9]+}", (c) => {
    const threatId = Number(c.req.param("id"));
    const override = screenshotOverrides.get(threatId);
    const threat = threats.get(keyOf("phish", threatId));
    if (override === null || threat === undefined) {
      return failure(c, 404, "No screenshot found for given threat");
    }
    if (override === undefined && threat.screenshot === undefined) {
      return failure(c, 404, "No screenshot found for given threat");
    }

    const body = override ?? generatePng(threatId, screenshotBytes);
    return c.body(body as Uint8Array<ArrayBuffer>, 200, {
      "content-type": "image/png",
    });
  });

  api.get("/feed", (c) =>
    c.json({
      success: true,
      data: [{
        id: 23,
        displayName: "Cofense",
        permissions: { OWNER: false, WRITE: false, READ: true },
      }],
    }));

  api.all("*", (c) => failure(c, 404, "Unknown endpoint"));
  app.route(basePath, api);

  const server = Deno.serve({
    hostname: options.hostname ?? "127.0.0.1",
    port: options.port ?? 0,
    onListen: () => {},
    ...options.tls,
  }, app.fetch);
  const port = server.addr.port;
  const scheme = options.tls === undefined ? "http" : "https";
  const host = server.addr.hostname.includes(":")
    ? `[${server.addr.hostname}]`
    : server.addr.hostname;
  const origin = `${scheme}://${host}:${port}`;

  return {
    url: `${origin}${basePath}/`,
    origin,
    port,
    user,
    password,
    requests,
    get rejectedThreats() {
      return rejectedThreats;
    },
    publish(threat, occurredOn) {
      const key = threatKey(threat);
      if (key === undefined) {
        throw new TypeError("a threat needs an integer id and a threatType");
      }
      threats.set(
        keyOf(key.threatType, key.threatId),
        threat as Record<string, unknown>,
      );
      changelog.push({
        ...key,
        occurredOn: occurredOn ?? now(),
        deleted: false,
      });
    },
    delete(threatType, threatId, occurredOn) {
      threats.delete(keyOf(threatType, threatId));
      changelog.push({
        threatType,
        threatId,
        occurredOn: occurredOn ?? now(),
        deleted: true,
      });
    },
    hideFromSearch(threatType, threatId) {
      hidden.add(keyOf(threatType, threatId));
    },
    setPdf(threatId, body) {
      pdfOverrides.set(threatId, body);
    },
    setScreenshot(threatId, body) {
      screenshotOverrides.set(threatId, body);
    },
    expirePositions() {
      for (const position of positions.keys()) expired.add(position);
    },
    injectFault(fault) {
      faults.push({ ...fault });
    },
    clearFaults() {
      faults.length = 0;
    },
    requestsTo(endpoint) {
      return requests.filter((request) => request.endpoint === endpoint);
    },
    async close() {
      for (const release of [...pendingHangs]) release();
      await server.shutdown();
    },
  };
}
