import { suite } from "uvu";
import * as assert from "uvu/assert";
import { formatEastern, tableCell } from "../../src/mapper/description.ts";
import { loadFixture, mapOk, reportOf } from "./mapping_helpers.ts";

const t = suite("mapper: description");

t("full threat table", () => {
  const report = reportOf(mapOk(loadFixture("full-malware")));

  assert.fixture(
    report.description ?? "",
    [
      "| Field | Value |",
      "| --- | --- |",
      "| Threat title | Invoice - ExampleLoader |",
      "| Executive summary | Invoice-themed emails deliver ExampleLoader through a macro document. |",
      "| First published (US/Eastern) | 2024-05-01 08:51:30 EDT |",
      "| Last updated (US/Eastern) | 2024-05-02 08:51:30 EDT |",
      "| Languages | English, German |",
      "| Brands | Example Bank, Sample Parcel |",
      "| Recipient NAICS subsectors | Mining (except Oil and Gas), Finance, Insurance, Agriculture, Forestry, Fishing, Hunting |",
      "| Secure email gateways | Example Gateway, Sample Filter |",
      "",
    ].join("\n"),
  );
});

t("empty fields read N/A", () => {
  const report = reportOf(mapOk(loadFixture("sparse")));
  const rows = (report.description ?? "").trim().split("\n").slice(2);

  assert.is(rows.length, 8);
  for (const row of rows) {
    if (row.startsWith("| Last updated")) {
      assert.is(row, "| Last updated (US/Eastern) | 2024-06-30 20:00:00 EDT |");
    } else {
      assert.ok(row.endsWith("| N/A |"), row);
    }
  }
});

t("no-brand entry is not a brand", () => {
  const report = reportOf(mapOk(loadFixture("odd-shapes")));

  assert.match(report.description ?? "", "| Brands | N/A |");
});

t("eastern time in summer and winter", () => {
  assert.is(formatEastern(1651075409064), "2022-04-27 12:03:29 EDT");
  assert.is(formatEastern(1700000000000), "2023-11-14 17:13:20 EST");
});

t("cells lose pipes and line breaks", () => {
  assert.is(tableCell("a | b\r\nc\nd"), "a b c d");
  assert.is(tableCell("  "), "N/A");
  assert.is(tableCell(undefined), "N/A");
  assert.is(tableCell([]), "N/A");
  assert.is(tableCell(["x", " ", "y|z"]), "x, y z");
});

t.run();
