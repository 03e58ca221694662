import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createMemoryLogger } from "../../src/log/logger.ts";
import { nextState } from "../../src/threathq/sync.ts";
import {
  formatStateDateTime,
  parseStateDateTime,
  readSavedState,
} from "../../src/threathq/sync_state.ts";

const t = suite("threathq: sync state");

t("formats dates as Python isoformat", () => {
  const epochMs = Date.UTC(2025, 5, 30, 23, 59, 59, 640);
  assert.is(formatStateDateTime(epochMs), "2025-06-30T23:59:59+00:00");
});

t("parses dates with any offset", () => {
  assert.is(
    parseStateDateTime("2025-01-01T00:00:00+00:00"),
    Date.UTC(2025, 0, 1),
  );
  assert.is(
    parseStateDateTime("2025-01-01T02:00:00+02:00"),
    Date.UTC(2025, 0, 1),
  );
  assert.is(parseStateDateTime("2025-01-01T00:00:00Z"), Date.UTC(2025, 0, 1));
  assert.is(parseStateDateTime("yesterday"), undefined);
  assert.is(parseStateDateTime("2025-01-01 00:00:00"), undefined);
});

t("reads a Python connector state", () => {
  const logger = createMemoryLogger();
  const saved = readSavedState({
    next_position: "9a4b228f-ba32-4151-bca0-33a87f2e1b72",
    current_position: "1b7e2ad0-0000-4000-8000-000000000000",
    last_run_start_datetime: "2025-01-05T10:00:00+00:00",
    last_run_end_datetime_with_ingested_data: "2025-01-05T10:03:00+00:00",
  }, logger);

  assert.is(saved.position, "9a4b228f-ba32-4151-bca0-33a87f2e1b72");
  assert.is(saved.lastRunStartMs, Date.UTC(2025, 0, 5, 10));
  assert.is(
    saved.state.current_position,
    "1b7e2ad0-0000-4000-8000-000000000000",
  );
  assert.equal(logger.lines, []);
});

t("missing state is a first run", () => {
  const logger = createMemoryLogger();
  for (const raw of [undefined, null, {}]) {
    const saved = readSavedState(raw, logger);
    assert.is(saved.position, undefined);
    assert.is(saved.lastRunStartMs, undefined);
  }
  assert.equal(logger.lines, []);
});

t("invalid fields are ignored with a warning", () => {
  const logger = createMemoryLogger();
  const saved = readSavedState({
    next_position: 42,
    last_run_start_datetime: "not a date",
  }, logger);
  assert.is(saved.position, undefined);
  assert.is(saved.lastRunStartMs, undefined);
  const messages = logger.records().map((record) => record.message);
  assert.equal(messages, [
    "Ignored an invalid next_position in the saved state",
    "Ignored an invalid last_run_start_datetime in the saved state",
  ]);

  const list = readSavedState(["x"], logger);
  assert.equal(list.state, {});
});

t("next state advances only on a full page", () => {
  const previous = {
    next_position: "p1",
    current_position: "p0",
    last_run_start_datetime: "2025-01-01T00:00:00+00:00",
    other: true,
  };
  const partial = nextState(previous, { ingestedAtMs: Date.UTC(2025, 0, 2) });
  assert.equal(partial, {
    ...previous,
    last_run_end_datetime_with_ingested_data: "2025-01-02T00:00:00+00:00",
  });

  const page = nextState(previous, {
    page: { position: "p1", nextPosition: "p2" },
  });
  assert.is(page.next_position, "p2");
  assert.is(page.current_position, "p1");
  assert.is(page.last_run_start_datetime, "2025-01-01T00:00:00+00:00");

  const drained = nextState(previous, {
    page: {
      position: undefined,
      nextPosition: "p3",
      runStartMs: Date.UTC(2025, 0, 3, 4, 5, 6),
    },
  });
  assert.is(drained.current_position, undefined);
  assert.is(drained.last_run_start_datetime, "2025-01-03T04:05:06+00:00");
  assert.is(drained.other, true);
});

t.run();
