import { suite } from "uvu";
import * as assert from "uvu/assert";
import { FINISHED_WORK_MESSAGE } from "../../src/opencti/run_work.ts";
import { brokerAvailable } from "../support/amqp.ts";
import {
  createRandom,
  generateMalwareThreat,
} from "../support/threat_generator.ts";
import {
  changelogFrom,
  compareDelivered,
  createWorld,
  expectedObjects,
  messagesOfWork,
  runInProcess,
  savedState,
  workImported,
  worksOf,
} from "./e2e_support.ts";

const t = suite("e2e: amqp run");
const test = await brokerAvailable() ? t : t.skip;

test("every mapped object arrives once as mapped", async () => {
  const world = await createWorld({ platform: true });
  try {
    const env = world.env();
    const run = await runInProcess(world, env);

    assert.is(run.status, 0);
    const works = worksOf(world);
    assert.is(works.length, 1);
    const work = await workImported(world, works[0].id);
    const expected = await expectedObjects(world, env);
    const diff = compareDelivered(world.worker!.objects, expected, {
      split: true,
    });
    assert.equal(diff.missing, []);
    assert.equal(diff.extra, []);
    assert.equal(diff.different, []);
    assert.equal(world.worker!.errors, []);
    assert.is(work.expected, messagesOfWork(world, work.id));
    assert.is(work.processed, work.expected);
    assert.is(work.status, "complete");
    assert.equal(work.errors, []);
    assert.ok(work.messages[0].message?.startsWith(FINISHED_WORK_MESSAGE));
    assert.is(run.reports[0].totals.mapped, expected.size);
    const logs = JSON.stringify(run.records);
    assert.not.match(logs, env.OPENCTI_TOKEN);
    assert.not.match(logs, env.COFENSE_THREATHQ_TOKEN_PASSWORD);
  } finally {
    await world.close();
  }
});

test("saved state holds the last position", async () => {
  const world = await createWorld({ platform: true, malware: 20 });
  try {
    const run = await runInProcess(world, world.env());

    assert.is(run.status, 0);
    const state = savedState(world);
    assert.type(state?.next_position, "string");
    assert.type(state?.last_run_start_datetime, "string");
    const rest = await changelogFrom(
      world.simulator,
      state!.next_position as string,
    );
    assert.equal(rest, []);
  } finally {
    await world.close();
  }
});

test("second run sends nothing new", async () => {
  const world = await createWorld({ platform: true, malware: 20 });
  try {
    const env = world.env();
    await runInProcess(world, env);
    const state = savedState(world)!;
    const expectations = world.platform!.standin.callsOf("addExpectations");

    const second = await runInProcess(world, env);

    assert.is(second.status, 0);
    assert.is(second.reports[0].totals.objectsSent, 0);
    assert.is(worksOf(world).length, 1);
    assert.is(
      world.platform!.standin.callsOf("addExpectations").length,
      expectations.length,
    );
    const firstRead = world.simulator.requestsTo("threat/updates")
      .find((request) => request.query.includes(String(state.next_position)));
    assert.ok(firstRead, "the second run did not read from the saved position");
  } finally {
    await world.close();
  }
});

test("new threat alone is sent next", async () => {
  const world = await createWorld({ platform: true, malware: 20 });
  try {
    const env = world.env();
    await runInProcess(world, env);
    const threat = generateMalwareThreat(createRandom(5), 777_001, Date.now());
    world.simulator.publish(threat, Date.now());
    world.threats.set("malware:777001", threat);
    world.changelog.push({
      threatType: "malware",
      threatId: 777_001,
      occurredOn: Date.now(),
      deleted: false,
    });

    const next = await runInProcess(world, env);

    assert.is(next.status, 0);
    assert.is(next.reports[0].totals.mapped, 1);
    const works = worksOf(world);
    assert.is(works.length, 2);
    const work = await workImported(world, works[1].id);
    const single = await expectedObjects(
      { ...world, changelog: world.changelog.slice(-1) },
      env,
    );
    assert.is(work.expected, messagesOfWork(world, work.id));
    const diff = compareDelivered(world.worker!.objects, single, {
      split: true,
    });
    assert.equal(diff.missing, []);
  } finally {
    await world.close();
  }
});

test("state reset makes the next run start over", async () => {
  const world = await createWorld({ platform: true, malware: 20 });
  try {
    const env = world.env();
    const first = await runInProcess(world, env);
    const firstWork = await workImported(world, worksOf(world)[0].id);
    await world.platform!.standin.resetState(world.connectorId);
    const reads = world.simulator.requestsTo("threat/updates").length;

    const again = await runInProcess(world, env);

    assert.is(again.status, 0);
    const read = world.simulator.requestsTo("threat/updates")[reads];
    assert.match(read.query, /^\?timestamp=\d+$/);
    assert.is(again.reports[0].totals.mapped, first.reports[0].totals.mapped);
    const works = worksOf(world);
    assert.is(works.length, 2);
    const secondWork = await workImported(world, works[1].id);
    assert.is(secondWork.expected, firstWork.expected);
    assert.type(savedState(world)?.next_position, "string");
  } finally {
    await world.close();
  }
});

t.run();
