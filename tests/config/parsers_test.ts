import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  booleanValue,
  choiceListValue,
  durationValue,
  integerValue,
  listValue,
  parseDurationMs,
  parseStartDate,
  positiveNumberValue,
  startEpochMs,
  TIMER_DURATION,
  uuidValue,
} from "../../src/config/parsers.ts";
import { IMPACTS } from "../../src/config/settings.ts";

const t = suite("config: value parsers");

t("booleans accept true/false, yes/no, 1/0 in any case", () => {
  const cases: Array<[unknown, boolean]> = [
    ["true", true],
    ["TRUE", true],
    ["Yes", true],
    ["1", true],
    [true, true],
    ["false", false],
    ["No", false],
    ["0", false],
    [false, false],
    [" False ", false],
  ];
  for (const [raw, expected] of cases) {
    assert.is(booleanValue.parse(raw), expected, `input ${String(raw)}`);
  }
});

t("booleans reject other words", () => {
  for (const raw of ["maybe", "on", "2", ""]) {
    const result = booleanValue.safeParse(raw);
    assert.is(result.success, false, `input ${raw}`);
  }
  const message = booleanValue.safeParse("maybe").error?.issues[0].message;
  assert.match(message ?? "", "expected true or false");
});

t("lists are trimmed and drop empty items", () => {
  assert.equal(listValue.parse("a, ,b"), ["a", "b"]);
  assert.equal(listValue.parse(" a ,b,, c "), ["a", "b", "c"]);
  assert.equal(listValue.parse(""), []);
  assert.equal(listValue.parse(["x", " y "]), ["x", "y"]);
});

t("choice lists match without regard to case", () => {
  const impacts = choiceListValue(IMPACTS);
  assert.equal(impacts.parse("none, MAJOR"), ["None", "Major"]);
  assert.equal(impacts.parse("minor,Minor"), ["Minor"]);
  const bad = impacts.safeParse("None,High");
  assert.is(bad.success, false);
  assert.match(bad.error?.issues[0].message ?? "", '"High" is not one of');
});

t("integers must be whole and in range", () => {
  const retry = integerValue(0);
  assert.is(retry.parse("5"), 5);
  assert.is(retry.parse(0), 0);
  assert.is(retry.safeParse("-1").success, false);
  assert.is(retry.safeParse("2.5").success, false);
  assert.is(retry.safeParse("five").success, false);

  const port = integerValue(1, 65535);
  assert.is(port.safeParse("65536").success, false);
  assert.match(
    port.safeParse("0").error?.issues[0].message ?? "",
    "from 1 to 65535",
  );
});

t("positive numbers reject zero and words", () => {
  assert.is(positiveNumberValue.parse("0.5"), 0.5);
  assert.is(positiveNumberValue.parse(10), 10);
  assert.is(positiveNumberValue.safeParse("0").success, false);
  assert.is(positiveNumberValue.safeParse("-3").success, false);
  assert.is(positiveNumberValue.safeParse("ten").success, false);
});

t("durations are ISO 8601 in milliseconds", () => {
  assert.is(parseDurationMs("PT5H"), 5 * 3_600_000);
  assert.is(parseDurationMs("PT30S"), 30_000);
  assert.is(parseDurationMs("P1D"), 86_400_000);
  assert.is(parseDurationMs("pt1m"), 60_000);
  assert.is(parseDurationMs("P1W"), 7 * 86_400_000);
  assert.is(parseDurationMs("PT0S"), 0);
  assert.is(parseDurationMs("0"), 0);
});

t("durations reject years, months and other text", () => {
  for (const raw of ["P1M", "P1Y", "5h", "300", "-PT5H", "PT", ""]) {
    assert.is(parseDurationMs(raw), undefined, `input ${raw}`);
  }
  assert.match(
    durationValue().safeParse("5h").error?.issues[0].message ?? "",
    "PT5H",
  );
});

t("duration errors carry only their own hint", () => {
  const plain = durationValue().safeParse("60").error?.issues[0].message;
  assert.not.match(plain ?? "", "run once");
  const period = durationValue(" (0 means run once)").safeParse("60").error
    ?.issues[0].message;
  assert.match(period ?? "", "(0 means run once)");
});

t("timer durations stay within a second and a day", () => {
  const timer = durationValue("", TIMER_DURATION);
  assert.is(timer.parse("PT60S"), 60_000);
  assert.is(timer.parse("P1D"), 86_400_000);
  for (const raw of ["0", "PT0.5S", "P25D"]) {
    const result = timer.safeParse(raw);
    assert.is(result.success, false, raw);
    assert.match(result.error?.issues[0].message ?? "", "PT1S to P1D");
  }
});

t("start dates accept a day at midnight UTC", () => {
  assert.equal(parseStartDate("2024-03-01"), {
    kind: "instant",
    epochMs: Date.UTC(2024, 2, 1),
  });
});

t("start dates accept date-times with an offset", () => {
  const expected = Date.UTC(2024, 2, 1, 8, 0, 0);
  assert.equal(parseStartDate("2024-03-01 10:00:00+02:00"), {
    kind: "instant",
    epochMs: expected,
  });
  assert.equal(parseStartDate("2024-03-01T10:00:00+02:00"), {
    kind: "instant",
    epochMs: expected,
  });
  assert.equal(parseStartDate("2024-03-01T08:00:00Z"), {
    kind: "instant",
    epochMs: expected,
  });
});

t("start dates accept a duration before the run", () => {
  const start = parseStartDate("P30D");
  assert.equal(start, { kind: "before_run", durationMs: 30 * 86_400_000 });
  const runStart = Date.UTC(2026, 0, 31);
  assert.is(startEpochMs(start!, runStart), Date.UTC(2026, 0, 1));
});

t("start dates reject dates without an offset and nonsense", () => {
  for (
    const raw of [
      "2024-03-01 10:00:00",
      "2024-13-01",
      "yesterday",
      "0",
      "P1M",
    ]
  ) {
    assert.is(parseStartDate(raw), undefined, `input ${raw}`);
  }
});

t("UUIDs are lower-cased and validated", () => {
  assert.is(
    uuidValue.parse("1F0F3A52-8A29-4C55-9C1E-3B0D1C6F2A7E"),
    "1f0f3a52-8a29-4c55-9c1e-3b0d1c6f2a7e",
  );
  assert.is(uuidValue.safeParse("ChangeMe").success, false);
});

t.run();
