import { suite } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import {
  WITHDRAWAL_FILE_SUFFIX,
  WITHDRAWN_LABEL,
} from "../../src/runtime/withdrawals.ts";
import { brokerAvailable } from "../support/amqp.ts";
import {
  createWorld,
  expectedObjects,
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

/** Withdraws a threat in the simulator and in the world's changelog. */
function withdraw(world: World, threatId: number): void {
  const occurredOn = Date.now();
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

t.run();
