import { suite } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { createMemoryLogger } from "../../src/log/logger.ts";
import {
  createThreatMapper,
  mappingOptionsFromSettings,
} from "../../src/runtime/threat_mapping.ts";
import type { ThreatToMap } from "../../src/threathq/sync.ts";
import { settingsFrom } from "./run_fixture.ts";

const t = suite("runtime: threat mapping");

const FIXTURES = new URL("../fixtures/threats/", import.meta.url).pathname;

async function fixture(name: string): Promise<Record<string, unknown>> {
  return JSON.parse(await Deno.readTextFile(join(FIXTURES, name)));
}

function input(detail: unknown, overrides: Partial<ThreatToMap> = {}) {
  return {
    threatType: "malware" as const,
    threatId: Number((detail as { id?: unknown }).id ?? 0),
    occurredOn: Date.UTC(2024, 5, 1),
    detail,
    attachments: [],
    ...overrides,
  };
}

t("options come from the settings", () => {
  const settings = settingsFrom({
    COFENSE_THREATHQ_TLP_LEVEL: "green",
    COFENSE_THREATHQ_IMPACT_TO_EXCLUDE: "Minor,None",
    COFENSE_THREATHQ_PROMOTE_OBSERVABLES_AS_INDICATORS: "false",
  });

  assert.equal(mappingOptionsFromSettings(settings.cofense_threathq), {
    tlp: "green",
    impactToExclude: ["Minor", "None"],
    promoteIndicators: false,
  });
});

t("mapped threat carries its objects", async () => {
  const map = createThreatMapper(
    { tlp: "amber", impactToExclude: [], promoteIndicators: true },
    createMemoryLogger(),
  );
  const outcome = await map(input(await fixture("full-malware.json")));

  assert.ok(outcome?.ok);
  const types = outcome.threat.objects.map((object) => object.type);
  assert.ok(types.includes("report"));
  assert.ok(types.includes("indicator"));
});

t("phish detail without threatType maps as phish", async () => {
  const map = createThreatMapper(
    { tlp: "amber", impactToExclude: [], promoteIndicators: true },
    createMemoryLogger(),
  );
  const detail = await fixture("phish/full.json");
  delete detail.threatType;
  const outcome = await map(input(detail, { threatType: "phish" }));

  assert.ok(outcome?.ok);
  assert.is(outcome.threat.threatType, "phish");
  const report = outcome.threat.objects.find((object) =>
    object.type === "report"
  ) as { report_types?: string[] } | undefined;
  assert.equal(report?.report_types, ["Credential Phishing"]);
});

t("attachment goes into the report", async () => {
  const map = createThreatMapper(
    { tlp: "amber", impactToExclude: [], promoteIndicators: true },
    createMemoryLogger(),
  );
  const data = new TextEncoder().encode("%PDF-1.4 test");
  const outcome = await map(input(await fixture("full-malware.json"), {
    attachments: [{
      name: "Report-900001.pdf",
      mimeType: "application/pdf",
      data,
    }],
  }));

  assert.ok(outcome?.ok);
  const report = outcome.threat.objects.find((object) =>
    object.type === "report"
  ) as Record<string, unknown>;
  const files = report.x_opencti_files as Array<Record<string, unknown>>;
  assert.is(files.length, 1);
  assert.is(files[0].name, "Report-900001.pdf");
  assert.is(files[0].data, data.toBase64());
});

t("dropped values are logged once", async () => {
  const logger = createMemoryLogger();
  const map = createThreatMapper(
    { tlp: "amber", impactToExclude: [], promoteIndicators: true },
    logger,
  );
  const outcome = await map(input(await fixture("invalid-values.json")));

  assert.ok(outcome?.ok);
  const lines = logger.records().filter((record) =>
    record.message === "Dropped ThreatHQ values while mapping a threat"
  );
  assert.is(lines.length, 1);
  const attributes = lines[0].attributes as Record<string, unknown>;
  assert.is(attributes.threat_id, 900004);
  assert.is(attributes.problem_count, outcome.threat.problems.length);
  assert.ok((attributes.problems as unknown[]).length <= 5);
});

t("unreadable threat is rejected", async () => {
  const map = createThreatMapper(
    { tlp: "amber", impactToExclude: [], promoteIndicators: true },
    createMemoryLogger(),
  );
  const outcome = await map(input("not a threat"));

  assert.ok(outcome !== undefined);
  assert.is(outcome.ok, false);
  assert.ok(!outcome.ok && outcome.problems.length > 0);
});

t.run();
