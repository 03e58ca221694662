import { suite } from "uvu";
import * as assert from "uvu/assert";
import { CredentialsRejectedError } from "../../src/errors.ts";
import { createMemoryLogger } from "../../src/log/logger.ts";
import {
  PlatformUnreachableError,
  TlsVerificationError,
} from "../../src/opencti/errors.ts";
import { createGraphqlClient } from "../../src/opencti/graphql_client.ts";
import {
  createPlatformApi,
  type PlatformApi,
} from "../../src/opencti/platform_api.ts";
import {
  backoffDelay,
  waitForPlatform,
} from "../../src/opencti/wait_for_platform.ts";
import { createFakeClock } from "../../src/runtime/clock.ts";
import { createPlatformStandin } from "../support/platform_standin.ts";

const t = suite("opencti: wait for platform");

/** An API whose version call fails with each error in turn, then succeeds. */
function flakyApi(failures: unknown[], version = "6.8.10") {
  let calls = 0;
  const api = {
    fetchVersion: () => {
      calls += 1;
      const failure = failures.shift();
      return failure === undefined
        ? Promise.resolve(version)
        : Promise.reject(failure);
    },
  } as unknown as PlatformApi;
  return { api, calls: () => calls };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
}

const down = () =>
  new PlatformUnreachableError(
    "healthCheck",
    "http://127.0.0.1:1/graphql",
    "Connection refused",
  );

t("backoff doubles up to the cap", () => {
  const delays = [1, 2, 3, 4, 5, 6, 7].map((attempt) =>
    backoffDelay(attempt, 1_000, 30_000)
  );

  assert.equal(delays, [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
});

t("retries until the platform answers", async () => {
  const { api, calls } = flakyApi([down(), down(), down(), down(), down()]);
  const clock = createFakeClock();
  const logger = createMemoryLogger();

  const version = await waitForPlatform(api, {
    logger,
    clock,
    initialDelayMs: 1_000,
    maxDelayMs: 4_000,
  });

  assert.is(version, "6.8.10");
  assert.is(calls(), 6);
  assert.equal(clock.sleeps, [1_000, 2_000, 4_000, 4_000, 4_000]);
  const records = logger.records();
  const attempts = records.filter((record) =>
    record.message === "Health check (platform version)..."
  );
  const retries = records.filter((record) =>
    record.message === "OpenCTI platform is not reachable yet, retrying"
  );
  assert.is(attempts.length, 6);
  assert.is(retries.length, 5);
  assert.equal(retries[2].attributes, {
    attempt: 3,
    delay_ms: 4_000,
    reason: down().message,
  });
});

t("rejected token ends the wait", async () => {
  const rejected = new CredentialsRejectedError(
    "OpenCTI",
    ["OPENCTI_TOKEN"],
    "AUTH_REQUIRED on healthCheck",
  );
  const { api, calls } = flakyApi([down(), rejected]);

  const error = await rejection(
    waitForPlatform(api, {
      logger: createMemoryLogger(),
      clock: createFakeClock(),
    }),
  );

  assert.is(error, rejected);
  assert.is(calls(), 2);
});

t("certificate failure ends the wait", async () => {
  const tls = new TlsVerificationError(
    "https://octi/graphql",
    "OPENCTI_SSL_VERIFY",
    "invalid peer certificate: UnknownIssuer",
  );
  const { api } = flakyApi([tls]);

  const error = await rejection(
    waitForPlatform(api, {
      logger: createMemoryLogger(),
      clock: createFakeClock(),
    }),
  );

  assert.is(error, tls);
});

t("abort stops the retry loop", async () => {
  const controller = new AbortController();
  const reason = new Error("shutting down");
  const { api, calls } = flakyApi(Array.from({ length: 100 }, down));
  const clock = createFakeClock();
  const sleep = clock.sleep;
  clock.sleep = (ms, signal) => {
    if (clock.sleeps.length === 2) controller.abort(reason);
    return sleep(ms, signal);
  };

  const error = await rejection(
    waitForPlatform(api, {
      logger: createMemoryLogger(),
      clock,
      signal: controller.signal,
    }),
  );

  assert.is(error, reason);
  assert.is(calls(), 3);
});

t("old platform version is warned", async () => {
  const { api } = flakyApi([], "6.6.3");
  const logger = createMemoryLogger();

  await waitForPlatform(api, { logger, clock: createFakeClock() });

  const warning = logger.records().find((record) =>
    record.message ===
      "OpenCTI platform is older than 6.8, which is not supported"
  );
  assert.ok(warning);
});

t("booting stand-in is waited for", async () => {
  const standin = await createPlatformStandin();
  standin.failNext("healthCheck", { status: 503, body: "starting" }, 3);
  const client = createGraphqlClient({
    url: standin.url,
    token: "token",
    logger: createMemoryLogger(),
  });
  const clock = createFakeClock();

  try {
    const version = await waitForPlatform(createPlatformApi(client), {
      logger: createMemoryLogger(),
      clock,
    });

    assert.is(version, "6.9.17");
    assert.is(standin.callsOf("healthCheck").length, 4);
    assert.equal(clock.sleeps, [1_000, 2_000, 4_000]);
  } finally {
    await standin.stop();
  }
});

t("unreachable platform keeps retrying", async () => {
  // A port that was free a moment ago, so the connection is refused.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const client = createGraphqlClient({
    url: `http://127.0.0.1:${port}`,
    token: "token",
    logger: createMemoryLogger(),
  });
  const controller = new AbortController();
  const clock = createFakeClock();
  const sleep = clock.sleep;
  clock.sleep = (ms, signal) => {
    if (clock.sleeps.length === 3) controller.abort(new Error("stop"));
    return sleep(ms, signal);
  };
  const logger = createMemoryLogger();

  await rejection(
    waitForPlatform(createPlatformApi(client), {
      logger,
      clock,
      signal: controller.signal,
    }),
  );

  const retries = logger.records().filter((record) =>
    record.message === "OpenCTI platform is not reachable yet, retrying"
  );
  assert.is(retries.length, 4);
  const reason = String(
    (retries[0].attributes as Record<string, unknown>).reason,
  );
  assert.match(reason, "Connection refused");
});

t.run();
