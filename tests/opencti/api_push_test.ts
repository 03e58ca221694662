import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createMemoryLogger } from "../../src/log/logger.ts";
import { createFakeClock } from "../../src/runtime/clock.ts";
import { ApiPushError, createApiPusher } from "../../src/opencti/api_push.ts";
import {
  GraphqlError,
  PlatformHttpError,
  PlatformUnreachableError,
} from "../../src/opencti/errors.ts";
import { samplePage } from "../support/worker_standin.ts";

const t = suite("opencti: api push");

const CONNECTOR_ID = "5ed680de-75e2-4aa0-bec0-4e8e5a0d1695";
const WORK_ID = `work_${CONNECTOR_ID}_2024-01-15T10:30:00.123Z`;

interface PushCall {
  connectorId: string;
  bundle: string;
  workId: string | undefined;
}

/** Creates an API double whose results come from `outcomes`, one per call. */
function fakeApi(outcomes: Array<boolean | Error>) {
  const calls: PushCall[] = [];
  return {
    calls,
    pushBundle(connectorId: string, bundle: string, workId?: string) {
      calls.push({ connectorId, bundle, workId });
      const outcome = outcomes[calls.length - 1] ?? true;
      return outcome instanceof Error
        ? Promise.reject(outcome)
        : Promise.resolve(outcome);
    },
  };
}

function pageBundle() {
  return {
    type: "bundle",
    id: `bundle--${crypto.randomUUID()}`,
    spec_version: "2.1",
    objects: samplePage(2),
  };
}

t("whole bundle sent once", async () => {
  const api = fakeApi([true]);
  const pusher = createApiPusher({
    api,
    connectorId: CONNECTOR_ID,
    logger: createMemoryLogger(),
  });
  const bundle = pageBundle();

  const result = await pusher.pushBundle(bundle, { workId: WORK_ID });

  assert.is(result.objects, bundle.objects.length);
  assert.is(api.calls.length, 1);
  assert.is(api.calls[0].connectorId, CONNECTOR_ID);
  assert.is(api.calls[0].workId, WORK_ID);
  assert.equal(JSON.parse(api.calls[0].bundle), bundle);
  assert.ok(api.calls[0].bundle.startsWith('{"type": "bundle", "id": '));
});

t("no nb_deps added", async () => {
  const api = fakeApi([true]);
  const pusher = createApiPusher({
    api,
    connectorId: CONNECTOR_ID,
    logger: createMemoryLogger(),
  });

  await pusher.pushBundle(pageBundle());

  assert.not.match(api.calls[0].bundle, /nb_deps/);
  assert.is(api.calls[0].workId, undefined);
});

t("false from the platform fails", async () => {
  const pusher = createApiPusher({
    api: fakeApi([false]),
    connectorId: CONNECTOR_ID,
    logger: createMemoryLogger(),
    clock: createFakeClock(),
  });

  const error = await pusher.pushBundle(pageBundle(), { workId: WORK_ID })
    .catch((caught: unknown) => caught);

  assert.instance(error, ApiPushError);
  assert.match((error as Error).message, WORK_ID);
});

t("empty bundle not sent", async () => {
  const api = fakeApi([]);
  const pusher = createApiPusher({
    api,
    connectorId: CONNECTOR_ID,
    logger: createMemoryLogger(),
  });

  const result = await pusher.pushBundle({ objects: [] });

  assert.is(result.objects, 0);
  assert.is(api.calls.length, 0);
});

t("unreachable platform retried", async () => {
  const unreachable = new PlatformUnreachableError(
    "StixBundlePush",
    "http://127.0.0.1:1/graphql",
    "connection refused",
  );
  const busy = new PlatformHttpError(
    "StixBundlePush",
    "http://127.0.0.1:1/graphql",
    503,
    "",
  );
  const api = fakeApi([unreachable, busy, true]);
  const clock = createFakeClock();
  const logger = createMemoryLogger();
  const pusher = createApiPusher({
    api,
    connectorId: CONNECTOR_ID,
    logger,
    clock,
  });

  await pusher.pushBundle(pageBundle());

  assert.is(api.calls.length, 3);
  assert.equal(clock.sleeps, [1_000, 2_000]);
  const warnings = logger.records().filter((record) =>
    record.level === "WARNING"
  );
  assert.is(warnings.length, 2);
});

t("gives up after max attempts", async () => {
  const unreachable = new PlatformUnreachableError(
    "StixBundlePush",
    "http://127.0.0.1:1/graphql",
    "connection refused",
  );
  const api = fakeApi([unreachable, unreachable, unreachable]);
  const pusher = createApiPusher({
    api,
    connectorId: CONNECTOR_ID,
    logger: createMemoryLogger(),
    clock: createFakeClock(),
    retry: { maxAttempts: 3 },
  });

  const error = await pusher.pushBundle(pageBundle()).catch((
    caught: unknown,
  ) => caught);

  assert.is(error, unreachable);
  assert.is(api.calls.length, 3);
});

t("graphql errors not retried", async () => {
  const rejected = new GraphqlError("StixBundlePush", 200, [
    { message: "Invalid bundle", code: "UNSUPPORTED_ERROR" },
  ]);
  const clientError = new PlatformHttpError(
    "StixBundlePush",
    "http://127.0.0.1:1/graphql",
    400,
    "",
  );
  for (const failure of [rejected, clientError]) {
    const api = fakeApi([failure]);
    const clock = createFakeClock();
    const pusher = createApiPusher({
      api,
      connectorId: CONNECTOR_ID,
      logger: createMemoryLogger(),
      clock,
    });

    const error = await pusher.pushBundle(pageBundle()).catch((
      caught: unknown,
    ) => caught);

    assert.is(error, failure);
    assert.is(api.calls.length, 1);
    assert.equal(clock.sleeps, []);
  }
});

t.run();
