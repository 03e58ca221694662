import { suite } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import {
  WITHDRAWAL_FILE_SUFFIX,
  WITHDRAWN_LABEL,
} from "../../src/runtime/withdrawals.ts";
import type { StixObject } from "../../src/stix/types.ts";
import { brokerAvailable } from "../support/amqp.ts";
import type { KnowledgeStore } from "../support/platform_knowledge.ts";
import {
  createWorld,
  type ExpectedObjects,
  expectedObjects,
  type InProcessRun,
  recordsWith,
  reportIds,
  runInProcess,
  workImported,
  worksOf,
  type World,
} from "./e2e_support.ts";

const t = suite("e2e: withdrawal run");
const queueTest = await brokerAvailable() ? t : t.skip;

/** Picks a generated malware threat that the first run imported. */
async function importedThreat(world: World, env: Record<string, string>) {
  const reports = reportIds(await expectedObjects(world, env));
  const [key, reportId] = [...reports].find(([key]) =>
    key.startsWith("malware:3")
  )!;
  return { threatId: Number(key.split(":")[1]), reportId };
}

/**
 * Returns a changelog time later than every entry so far, so an entry
 * added now is the newest even when two are added in the same millisecond.
 */
function nextEntryTime(world: World): number {
  const last = world.changelog.reduce(
    (latest, event) => Math.max(latest, event.occurredOn),
    0,
  );
  return Math.max(Date.now(), last + 1);
}

/** Withdraws a threat in the simulator and in the world's changelog. */
function withdraw(world: World, threatId: number): void {
  const occurredOn = nextEntryTime(world);
  world.simulator.delete("malware", threatId, occurredOn);
  world.changelog.push({
    threatType: "malware",
    threatId,
    occurredOn,
    deleted: true,
  });
}

queueTest("withdrawn threat is labelled in OpenCTI", async () => {
  const world = await createWorld({ platform: true, malware: 20 });
  try {
    const env = world.env();
    await runInProcess(world, env);
    await workImported(world, worksOf(world)[0].id);
    const threat = await importedThreat(world, env);
    withdraw(world, threat.threatId);

    const second = await runInProcess(world, env);

    assert.is(second.status, 0);
    assert.is(second.reports[0].totals.deleted, 1);
    const knowledge = world.platform!.standin.knowledge;
    const report = knowledge.report(threat.reportId);
    assert.ok(report, "the report is in the stand-in");
    assert.ok(knowledge.labelValues(report).includes(WITHDRAWN_LABEL));
    const handled = recordsWith(second.records, "Withdrawals handled");
    assert.is(handled.length, 1);
    const attributes = handled[0].attributes as Record<string, unknown>;
    assert.is(attributes.reports_labelled, 1);
  } finally {
    await world.close();
  }
});

t("directory-only withdrawal writes a file", async () => {
  const world = await createWorld({ malware: 20 });
  try {
    const env = world.env();
    await runInProcess(world, env);
    const withdrawalFiles = () =>
      [...Deno.readDirSync(world.outputDirectory)]
        .map((entry) => entry.name)
        .filter((name) => name.endsWith(WITHDRAWAL_FILE_SUFFIX));
    const before = withdrawalFiles();
    const threat = await importedThreat(world, env);
    withdraw(world, threat.threatId);

    const second = await runInProcess(world, env);

    assert.is(second.status, 0);
    const added = withdrawalFiles().filter((name) => !before.includes(name));
    assert.is(added.length, 1);
    const text = await Deno.readTextFile(join(world.outputDirectory, added[0]));
    const lines = text.trim().split("\n").map((line) => JSON.parse(line));
    assert.is(lines.length, 1);
    assert.is(lines[0].threat_id, threat.threatId);
    assert.is(lines[0].report_id, null);
  } finally {
    await world.close();
  }
});

const SHARED_URL = "https://shared.example.com/gate.php";
const OWN_URL_A = "https://a.example.net/dropper.bin";
const OWN_IP_B = "192.0.2.20";

/** Returns a URL or IPv4 block of impact Major, in ThreatHQ's shape. */
function majorBlock(blockType: "URL" | "IPv4 Address", value: string) {
  const url = blockType === "URL" ? new URL(value) : undefined;
  return {
    blockType,
    impact: "Major",
    role: "C2",
    roleDescription: "Command and control location used by malware",
    data: value,
    data_1: url === undefined ? value : {
      url: value,
      host: url.hostname,
      domain: url.hostname.split(".").slice(-2).join("."),
      path: url.pathname,
      protocol: url.protocol.replace(":", ""),
    },
  };
}

const FIRST_PUBLISHED = Date.UTC(2024, 5, 1, 12);

/** Malware threat A: the shared URL and a URL of its own. */
const THREAT_A = {
  id: 910_001,
  threatType: "MALWARE",
  label: "Invoice - Shared Gate A",
  executiveSummary: "Threat A of the shared-indicator withdrawal test.",
  firstPublished: FIRST_PUBLISHED,
  lastPublished: FIRST_PUBLISHED + 3_600_000,
  blockSet: [majorBlock("URL", SHARED_URL), majorBlock("URL", OWN_URL_A)],
};

/** Malware threat B: the shared URL and an IPv4 address of its own. */
const THREAT_B = {
  id: 910_002,
  threatType: "MALWARE",
  label: "Shipping - Shared Gate B",
  executiveSummary: "Threat B of the shared-indicator withdrawal test.",
  firstPublished: FIRST_PUBLISHED + 60_000,
  lastPublished: FIRST_PUBLISHED + 7_200_000,
  blockSet: [
    majorBlock("URL", SHARED_URL),
    majorBlock("IPv4 Address", OWN_IP_B),
  ],
};

/** Threat A as Cofense publishes it again: the same blocks, a later date. */
const THREAT_A_REPUBLISHED = {
  ...THREAT_A,
  lastPublished: FIRST_PUBLISHED + 86_400_000,
};

/** STIX ids of the two threats' reports and indicators. */
interface SharedIds {
  reportA: string;
  reportB: string;
  ownIndicatorA: string;
  ownIndicatorB: string;
  sharedIndicator: string;
}

function indicatorWithValue(objects: StixObject[], value: string): string {
  const found = objects.filter((object) =>
    object.type === "indicator" && object.pattern.includes(`'${value}'`)
  );
  assert.is(found.length, 1, `one indicator of ${value} in the mapping`);
  return found[0].id;
}

function reportOf(objects: StixObject[]): string {
  const report = objects.find((object) => object.type === "report");
  assert.ok(report, "the mapping has a report");
  return report.id;
}

/** Finds the ids in the mapper's objects and checks the intended overlap. */
function sharedIds(expected: ExpectedObjects): SharedIds {
  const objectsA = expected.get(`malware:${THREAT_A.id}`);
  const objectsB = expected.get(`malware:${THREAT_B.id}`);
  assert.ok(objectsA, "threat A is mapped");
  assert.ok(objectsB, "threat B is mapped");
  const indicatorsOf = (objects: StixObject[]) =>
    objects.filter((object) => object.type === "indicator").length;
  assert.is(indicatorsOf(objectsA), 2, "threat A has two indicators");
  assert.is(indicatorsOf(objectsB), 2, "threat B has two indicators");

  const ids = {
    reportA: reportOf(objectsA),
    reportB: reportOf(objectsB),
    ownIndicatorA: indicatorWithValue(objectsA, OWN_URL_A),
    ownIndicatorB: indicatorWithValue(objectsB, OWN_IP_B),
    sharedIndicator: indicatorWithValue(objectsA, SHARED_URL),
  };
  assert.is(
    indicatorWithValue(objectsB, SHARED_URL),
    ids.sharedIndicator,
    "both threats make the same shared indicator",
  );
  return ids;
}

/** Waits until the worker has imported every work of the connector. */
async function importsFinished(world: World): Promise<void> {
  for (const work of worksOf(world)) await workImported(world, work.id);
}

interface SharedScenario {
  world: World;
  env: Record<string, string>;
  ids: SharedIds;
  knowledge: KnowledgeStore;
}

/** Starts a world that serves threats A and B, on the platform stand-in. */
function createSharedWorld(pageSize?: number): Promise<World> {
  return createWorld({
    platform: true,
    pageSize,
    malware: 0,
    phish: 0,
    withoutSharedSamples: true,
    extraThreats: [THREAT_A, THREAT_B],
  });
}

/** Runs the connector once and waits until the stand-in imported A and B. */
async function importSharedThreats(world: World): Promise<SharedScenario> {
  const env = world.env();
  const first = await runInProcess(world, env);
  assert.is(first.status, 0, "the first run succeeds");
  await importsFinished(world);

  const ids = sharedIds(await expectedObjects(world, env));
  return { world, env, ids, knowledge: world.platform!.standin.knowledge };
}

function storedReport(knowledge: KnowledgeStore, id: string) {
  const report = knowledge.report(id);
  assert.ok(report, `report ${id} is in the stand-in`);
  return report;
}

function storedIndicator(knowledge: KnowledgeStore, id: string) {
  const indicator = knowledge.indicator(id);
  assert.ok(indicator, `indicator ${id} is in the stand-in`);
  return indicator;
}

function isWithdrawnLabelled(
  knowledge: KnowledgeStore,
  object: { labels: string[] },
): boolean {
  return knowledge.labelValues(object).includes(WITHDRAWN_LABEL);
}

/** Returns copies of B's report, B's indicator and the shared indicator. */
function untouchedSnapshot(scenario: SharedScenario) {
  const { knowledge, ids } = scenario;
  return structuredClone({
    reportB: storedReport(knowledge, ids.reportB),
    ownIndicatorB: storedIndicator(knowledge, ids.ownIndicatorB),
    sharedIndicator: storedIndicator(knowledge, ids.sharedIndicator),
  });
}

function handledAttributes(run: InProcessRun): Record<string, unknown> {
  const handled = recordsWith(run.records, "Withdrawals handled");
  assert.is(handled.length, 1, "one withdrawal summary is logged");
  return handled[0].attributes as Record<string, unknown>;
}

/** Re-publishes a threat in the simulator and in the world's records. */
function republish(world: World, threat: Record<string, unknown>): void {
  const occurredOn = nextEntryTime(world);
  world.simulator.publish(threat, occurredOn);
  world.changelog.push({
    threatType: "malware",
    threatId: threat.id as number,
    occurredOn,
    deleted: false,
  });
  world.threats.set(`malware:${threat.id}`, threat);
}

queueTest("withdrawal keeps a shared indicator valid", async () => {
  const world = await createSharedWorld();
  try {
    const scenario = await importSharedThreats(world);
    const { env, ids, knowledge } = scenario;
    const before = untouchedSnapshot(scenario);
    assert.is(before.sharedIndicator.revoked, false);
    assert.is(storedIndicator(knowledge, ids.ownIndicatorA).revoked, false);
    withdraw(world, THREAT_A.id);

    const second = await runInProcess(world, env);

    assert.is(second.status, 0);
    assert.is(second.reports[0].totals.deleted, 1);
    const reportA = storedReport(knowledge, ids.reportA);
    assert.ok(isWithdrawnLabelled(knowledge, reportA), "A's report labelled");
    const ownA = storedIndicator(knowledge, ids.ownIndicatorA);
    assert.is(ownA.revoked, true, "A's own indicator is revoked");
    assert.ok(isWithdrawnLabelled(knowledge, ownA), "A's indicator labelled");

    const after = untouchedSnapshot(scenario);
    assert.is(after.sharedIndicator.revoked, false, "shared stays valid");
    assert.not.ok(isWithdrawnLabelled(knowledge, after.sharedIndicator));
    assert.equal(after.sharedIndicator, before.sharedIndicator);
    assert.equal(after.reportB, before.reportB);
    assert.equal(after.ownIndicatorB, before.ownIndicatorB);

    const attributes = handledAttributes(second);
    assert.is(attributes.reports_labelled, 1);
    assert.is(attributes.indicators_revoked, 1);
    assert.is(attributes.indicators_kept, 1);
  } finally {
    await world.close();
  }
});

queueTest("re-published threat is valid again", async () => {
  const world = await createSharedWorld();
  try {
    const scenario = await importSharedThreats(world);
    const { env, ids, knowledge } = scenario;
    const before = untouchedSnapshot(scenario);
    withdraw(world, THREAT_A.id);
    const second = await runInProcess(world, env);
    assert.is(second.status, 0);
    const withdrawnA = storedIndicator(knowledge, ids.ownIndicatorA);
    assert.is(withdrawnA.revoked, true, "the withdrawal revoked A's indicator");
    republish(world, THREAT_A_REPUBLISHED);

    const third = await runInProcess(world, env);
    await importsFinished(world);

    assert.is(third.status, 0);
    assert.is(third.reports[0].totals.deleted, 0);
    assert.is(third.reports[0].totals.mapped, 1);
    const reportA = storedReport(knowledge, ids.reportA);
    assert.not.ok(isWithdrawnLabelled(knowledge, reportA), "label removed");
    const restoredA = storedIndicator(knowledge, ids.ownIndicatorA);
    assert.is(restoredA.revoked, false, "A's own indicator is valid again");
    assert.not.ok(isWithdrawnLabelled(knowledge, restoredA));
    const reportsOfA = [...knowledge.reports.values()].filter((report) =>
      report.name === reportA.name
    );
    assert.is(reportsOfA.length, 1, "A still has one report");

    const after = untouchedSnapshot(scenario);
    assert.equal(after.sharedIndicator, before.sharedIndicator);
    assert.equal(after.reportB, before.reportB);
    assert.equal(after.ownIndicatorB, before.ownIndicatorB);

    const attributes = handledAttributes(third);
    assert.is(attributes.deletions, 0);
    assert.is(attributes.reports_restored, 1);
    assert.is(attributes.indicators_restored, 1);
  } finally {
    await world.close();
  }
});

// With one changelog entry per page, a run handles the two entries of A on
// two pages, one after the other, and must end in the newer entry's state.
queueTest("delete and re-publish in one run", async () => {
  const world = await createSharedWorld(1);
  try {
    const { env, ids, knowledge } = await importSharedThreats(world);
    withdraw(world, THREAT_A.id);
    republish(world, THREAT_A_REPUBLISHED);

    const second = await runInProcess(world, env);
    await importsFinished(world);

    assert.is(second.status, 0);
    assert.is(second.reports[0].totals.deleted, 1);
    assert.is(second.reports[0].totals.mapped, 1);
    const reportA = storedReport(knowledge, ids.reportA);
    assert.not.ok(isWithdrawnLabelled(knowledge, reportA), "label removed");
    const ownA = storedIndicator(knowledge, ids.ownIndicatorA);
    assert.is(ownA.revoked, false, "A's own indicator is valid");
    assert.not.ok(isWithdrawnLabelled(knowledge, ownA));
    const shared = storedIndicator(knowledge, ids.sharedIndicator);
    assert.is(shared.revoked, false, "the shared indicator is valid");
    const restored = recordsWith(second.records, "Withdrawals handled")
      .map((record) => record.attributes as Record<string, unknown>)
      .filter((attributes) => attributes.reports_restored === 1);
    assert.is(restored.length, 1, "a later page restored A's report");
  } finally {
    await world.close();
  }
});

// The simulator serves only a threat's current state, as ThreatHQ does, so
// the page of the older re-publication finds A gone and skips it.
queueTest("re-publish and delete in one run", async () => {
  const world = await createSharedWorld(1);
  try {
    const { env, ids, knowledge } = await importSharedThreats(world);
    republish(world, THREAT_A_REPUBLISHED);
    withdraw(world, THREAT_A.id);

    const second = await runInProcess(world, env);
    await importsFinished(world);

    assert.is(second.status, 0);
    assert.is(second.reports[0].totals.mapped, 0);
    assert.is(second.reports[0].totals.skipped, 1);
    assert.is(second.reports[0].totals.deleted, 1);
    const reportA = storedReport(knowledge, ids.reportA);
    assert.ok(isWithdrawnLabelled(knowledge, reportA), "A's report labelled");
    const ownA = storedIndicator(knowledge, ids.ownIndicatorA);
    assert.is(ownA.revoked, true, "A's own indicator is revoked");
    assert.ok(isWithdrawnLabelled(knowledge, ownA));
    const shared = storedIndicator(knowledge, ids.sharedIndicator);
    assert.is(shared.revoked, false, "the shared indicator is valid");
    assert.not.ok(isWithdrawnLabelled(knowledge, shared));
    const reportB = storedReport(knowledge, ids.reportB);
    assert.not.ok(isWithdrawnLabelled(knowledge, reportB));
  } finally {
    await world.close();
  }
});

t.run();
