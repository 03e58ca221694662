import { suite } from "uvu";
import * as assert from "uvu/assert";
import { CredentialsRejectedError } from "../../src/errors.ts";
import {
  isThreatHqError,
  ThreatHqApiError,
  ThreatHqAuthError,
  ThreatHqClientError,
  ThreatHqInvalidResponseError,
  ThreatHqNetworkError,
  ThreatHqNotFoundError,
  ThreatHqRateLimitError,
  ThreatHqServerError,
  ThreatHqTimeoutError,
} from "../../src/threathq/errors.ts";
import {
  clientOptionsFromSettings,
  joinUrl,
  normaliseBaseUrl,
  type RequestObservation,
} from "../../src/threathq/http_client.ts";
import { createMemoryLogger } from "../../src/log/logger.ts";
import { loadSettings } from "../../src/config/load.ts";
import { USER_AGENT } from "../../src/version.ts";
import {
  createTestClient,
  recordsWith,
  rejectionOf,
} from "../support/threathq_harness.ts";
import {
  startThreatHqSimulator,
  type ThreatHqSimulator,
} from "../support/threathq_simulator.ts";
import { generateThreatData } from "../support/threat_generator.ts";

const t = suite("threathq: http client");

const data = generateThreatData({
  malware: 3,
  startMs: Date.UTC(2025, 0, 1),
  hasReport: true,
});
let simulator: ThreatHqSimulator;

t.before.each(() => {
  simulator = startThreatHqSimulator({
    threats: data.threats,
    changelog: data.changelog,
    pdfBytes: 2000,
  });
});

t.after.each(async () => {
  await simulator.close();
});

t("base URL forms give the same requests", async () => {
  const origin = simulator.origin;
  const forms = [`${origin}/apiv1`, `${origin}/apiv1/`, `${origin}/apiv1//`];
  for (const baseUrl of forms) {
    const { api } = createTestClient(simulator, { baseUrl });
    await api.feed();
    await api.malware(300_000);
  }
  const paths = simulator.requests.map((request) => request.path);
  assert.equal(paths, [
    "/apiv1/feed/",
    "/apiv1/threat/malware/300000",
    "/apiv1/feed/",
    "/apiv1/threat/malware/300000",
    "/apiv1/feed/",
    "/apiv1/threat/malware/300000",
  ]);
  assert.is(normaliseBaseUrl("https://h/apiv1?x=1"), "https://h/apiv1/");
  assert.is(joinUrl("https://h/apiv1", "/feed/").href, "https://h/apiv1/feed/");
});

t("sends Basic auth and User-Agent", async () => {
  const seen: Headers[] = [];
  const server = Deno.serve({ port: 0, onListen: () => {} }, (request) => {
    seen.push(request.headers);
    return Response.json({ success: true, data: [] });
  });
  try {
    const { api } = createTestClient(simulator, {
      baseUrl: `http://127.0.0.1:${server.addr.port}/apiv1`,
      user: "token-name",
      password: "pässword",
    });
    await api.feed();
  } finally {
    await server.shutdown();
  }

  const expected = new TextEncoder().encode("token-name:pässword").toBase64();
  assert.is(seen[0].get("authorization"), `Basic ${expected}`);
  assert.is(seen[0].get("user-agent"), USER_AGENT);
  assert.match(USER_AGENT, /^threathq-connector\/\d+\.\d+\.\d+/);
});

t("401 stops at once with exit-3 error", async () => {
  const { api, sleeps } = createTestClient(simulator, {
    password: "wrong-secret",
  });
  const error = await rejectionOf(api.updates({ timestamp: 1735689600 }));

  assert.instance(error, ThreatHqAuthError);
  assert.instance(error, CredentialsRejectedError);
  assert.ok(isThreatHqError(error));
  const message = (error as Error).message;
  assert.match(message, /ThreatHQ rejected the credentials/);
  assert.match(message, /COFENSE_THREATHQ_TOKEN_USER/);
  assert.match(message, /COFENSE_THREATHQ_TOKEN_PASSWORD/);
  assert.not.match(message, /wrong-secret/);
  assert.is((error as ThreatHqAuthError).status, 401);
  assert.is(simulator.requests.length, 1);
  assert.equal(sleeps, []);
});

t("403 is also an auth error", async () => {
  simulator.injectFault({ kind: "status", status: 403 });
  const { api } = createTestClient(simulator);
  const error = await rejectionOf(api.feed());
  assert.instance(error, ThreatHqAuthError);
  assert.is((error as ThreatHqAuthError).status, 403);
  assert.is(simulator.requests.length, 1);
});

t("429 honours Retry-After", async () => {
  simulator.injectFault({
    kind: "status",
    status: 429,
    retryAfter: "7",
    times: 2,
  });
  const { api, sleeps, logger } = createTestClient(simulator);
  const feeds = await api.feed();

  assert.ok(Array.isArray(feeds));
  assert.equal(sleeps, [7000, 7000]);
  assert.is(simulator.requests.length, 3);
  const retries = recordsWith(logger, "ThreatHQ request failed; retrying");
  assert.is(retries.length, 2);
  const attributes = retries[0].attributes as Record<string, unknown>;
  assert.is(attributes.method, "GET");
  assert.is(attributes.path, "/apiv1/feed/");
  assert.is(attributes.status, 429);
  assert.is(attributes.delay_ms, 7000);
});

t("5xx then success", async () => {
  simulator.injectFault({ kind: "status", status: 503 });
  simulator.injectFault({ kind: "status", status: 500 });
  const { api, sleeps } = createTestClient(simulator);
  const detail = await api.malware(300_001) as { id: number };

  assert.is(detail.id, 300_001);
  assert.equal(simulator.requests.map((request) => request.status), [
    503,
    500,
    200,
  ]);
  // Full jitter with random() = 0.5: half of 1 s, then half of 2 s.
  assert.equal(sleeps, [500, 1000]);
});

t("retries exhausted throws the last error", async () => {
  simulator.injectFault({ kind: "status", status: 502, times: Infinity });
  const { api, sleeps } = createTestClient(simulator, {
    retries: 2,
    maxBackoffMs: 1500,
  });
  const error = await rejectionOf(api.feed());

  assert.instance(error, ThreatHqServerError);
  assert.is((error as ThreatHqServerError).status, 502);
  assert.is((error as ThreatHqServerError).path, "/apiv1/feed/");
  assert.is(simulator.requests.length, 3);
  assert.equal(sleeps, [500, 750]);
});

t("429 exhausted is a rate-limit error", async () => {
  simulator.injectFault({
    kind: "status",
    status: 429,
    retryAfter: "2",
    times: Infinity,
  });
  const { api } = createTestClient(simulator, { retries: 1 });
  const error = await rejectionOf(api.feed());
  assert.instance(error, ThreatHqRateLimitError);
  assert.is((error as ThreatHqRateLimitError).retryAfterMs, 2000);
});

t("timeout is retried, then fails", async () => {
  simulator.injectFault({ kind: "timeout", times: Infinity });
  const { api } = createTestClient(simulator, {
    timeoutMs: 100,
    retries: 1,
  });
  const error = await rejectionOf(api.feed());

  assert.instance(error, ThreatHqTimeoutError);
  assert.is((error as ThreatHqTimeoutError).timeoutMs, 100);
  assert.match((error as Error).message, /COFENSE_THREATHQ_API_TIMEOUT/);
  assert.is(simulator.requests.length, 2);
});

t("timeout then success", async () => {
  simulator.injectFault({ kind: "timeout" });
  const { api } = createTestClient(simulator, { timeoutMs: 100 });
  const detail = await api.malware(300_000) as { id: number };
  assert.is(detail.id, 300_000);
  assert.is(simulator.requests.length, 2);
});

t("truncated JSON is retried", async () => {
  simulator.injectFault({ kind: "truncated" });
  const { api, logger } = createTestClient(simulator);
  const page = await api.updates({ timestamp: 1735689600 });

  assert.is(page.entries.length, 3);
  assert.is(simulator.requests.length, 2);
  const retry = recordsWith(logger, "ThreatHQ request failed; retrying")[0];
  const attributes = retry.attributes as Record<string, unknown>;
  assert.match(String(attributes.error), /not valid JSON/);
});

t("truncated JSON every time fails as invalid", async () => {
  simulator.injectFault({ kind: "truncated", times: Infinity });
  const { api } = createTestClient(simulator, { retries: 1 });
  const error = await rejectionOf(api.feed());
  assert.instance(error, ThreatHqInvalidResponseError);
});

t("success false carries the API message", async () => {
  const server = Deno.serve(
    { port: 0, onListen: () => {} },
    () =>
      Response.json({
        success: false,
        data: { exception: "Search window too large" },
      }),
  );
  try {
    const { api } = createTestClient(simulator, {
      baseUrl: `http://127.0.0.1:${server.addr.port}/apiv1`,
    });
    const error = await rejectionOf(api.feed());
    assert.instance(error, ThreatHqApiError);
    assert.is(
      (error as ThreatHqApiError).apiMessage,
      "Search window too large",
    );
    assert.match((error as Error).message, /Search window too large/);
  } finally {
    await server.shutdown();
  }
});

t("400 is a client error, not retried", async () => {
  const { api, sleeps } = createTestClient(simulator);
  const error = await rejectionOf(api.updates({ position: "no-such" }));
  assert.instance(error, ThreatHqClientError);
  assert.is((error as ThreatHqClientError).status, 400);
  assert.match((error as Error).message, /Invalid position/);
  assert.equal(sleeps, []);
});

t("404 is a not-found error", async () => {
  const { api } = createTestClient(simulator);
  const error = await rejectionOf(api.malware(1));
  assert.instance(error, ThreatHqNotFoundError);
  assert.is(simulator.requests.length, 1);
});

t("PDF 500 is not retried", async () => {
  simulator.setPdf(300_000, null);
  const { api, sleeps } = createTestClient(simulator);
  const pdf = await api.pdf(300_000, { maxBytes: 10_000 });
  assert.is(pdf.kind, "missing");
  assert.is(simulator.requests.length, 1);
  assert.equal(sleeps, []);
});

t("PDF 503 is retried", async () => {
  simulator.injectFault({ kind: "status", status: 503 });
  const { api } = createTestClient(simulator);
  const pdf = await api.pdf(300_000, { maxBytes: 10_000 });
  assert.is(pdf.kind, "pdf");
  assert.is(simulator.requests.length, 2);
});

t("PDF size limit and magic", async () => {
  const { api } = createTestClient(simulator);
  const large = await api.pdf(300_000, { maxBytes: 1999 });
  assert.equal(large, { kind: "too_large", bytes: 2000, exact: true });

  simulator.setPdf(300_001, new TextEncoder().encode("<html>no</html>"));
  const html = await api.pdf(300_001, { maxBytes: 10_000 });
  assert.equal(html, { kind: "not_pdf", firstBytes: "<html" });

  const good = await api.pdf(300_002, { maxBytes: 2000 });
  assert.is(good.kind, "pdf");
  if (good.kind === "pdf") assert.is(good.data.byteLength, 2000);
});

t("PDF without Content-Length stops at the limit", async () => {
  const server = Deno.serve({ port: 0, onListen: () => {} }, () => {
    const chunk = new TextEncoder().encode("%PDF-" + "x".repeat(995));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ >= 50) controller.close();
        else controller.enqueue(chunk);
      },
    });
    return new Response(body, {
      headers: { "content-type": "application/pdf" },
    });
  });
  try {
    const { api } = createTestClient(simulator, {
      baseUrl: `http://127.0.0.1:${server.addr.port}/apiv1`,
    });
    const pdf = await api.pdf(1, { maxBytes: 4500 });
    // Reading stops at the first byte over the limit.
    assert.equal(pdf, { kind: "too_large", bytes: 4501, exact: false });
  } finally {
    await server.shutdown();
  }
});

t("connection refused is a network error", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const { api } = createTestClient(simulator, {
    baseUrl: `http://127.0.0.1:${port}/apiv1`,
    retries: 1,
  });
  const error = await rejectionOf(api.feed());
  assert.instance(error, ThreatHqNetworkError);
  assert.is((error as ThreatHqNetworkError).status, undefined);
});

t("abort ends a hung request", async () => {
  simulator.injectFault({ kind: "timeout" });
  const { api } = createTestClient(simulator, { timeoutMs: 60_000 });
  const controller = new AbortController();
  const pending = api.feed(controller.signal);
  setTimeout(() => controller.abort(new Error("shutting down")), 20);
  const error = await rejectionOf(pending);
  assert.is((error as Error).message, "shutting down");
  assert.is(simulator.requests.length, 1);
});

t("observer sees every attempt", async () => {
  simulator.injectFault({ kind: "status", status: 500 });
  const seen: RequestObservation[] = [];
  const retries: number[] = [];
  const { api } = createTestClient(simulator, {
    observer: {
      onRequest: (info) => seen.push(info),
      onRetry: (info) => retries.push(info.retry),
    },
  });
  await api.malware(300_000);

  assert.equal(seen.map((info) => [info.endpoint, info.status]), [
    ["threat/malware/{id}", 500],
    ["threat/malware/{id}", 200],
  ]);
  assert.ok(seen.every((info) => info.durationMs >= 0));
  assert.equal(retries, [1]);
});

t("no secret in logs or errors", async () => {
  simulator.injectFault({ kind: "status", status: 500, times: Infinity });
  const { api, logger } = createTestClient(simulator, { retries: 2 });
  const error = await rejectionOf(api.feed());
  const text = logger.lines.join("\n") + String(error) +
    JSON.stringify(error);
  assert.not.match(text, simulator.password);
  assert.not.match(text, /Basic /);
  assert.is(logger.lines.length, 2);
});

t("options from settings", async () => {
  const { settings } = await loadSettings({
    cwd: "/nonexistent",
    env: {
      COFENSE_THREATHQ_TOKEN_USER: "user",
      COFENSE_THREATHQ_TOKEN_PASSWORD: "secret",
      OPENCTI_URL: "http://localhost:8080",
      OPENCTI_TOKEN: "token",
      CONNECTOR_ID: "1f0f3a52-8a29-4c55-9c1e-3b0d1c6f2a7e",
    },
    mode: "run",
  });
  const options = clientOptionsFromSettings(
    settings.cofense_threathq,
    createMemoryLogger(),
  );
  assert.is(options.baseUrl, "https://www.threathq.com/apiv1/");
  assert.is(options.timeoutMs, 60_000);
  assert.is(options.maxBackoffMs, 30_000);
  assert.is(options.retries, 5);
  assert.is(options.ratePerSecond, 10);
  assert.is(options.burstCapacity, 10);
});

t.run();
