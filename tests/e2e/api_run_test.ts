import { suite } from "uvu";
import * as assert from "uvu/assert";
import { brokerAvailable } from "../support/amqp.ts";
import {
  compareDelivered,
  createWorld,
  expectedObjects,
  runInProcess,
  savedState,
  workImported,
  worksOf,
} from "./e2e_support.ts";

const t = suite("e2e: api run");
const test = await brokerAvailable() ? t : t.skip;

test("api protocol delivers every object", async () => {
  const world = await createWorld({ platform: true, malware: 30 });
  try {
    const env = world.env({ CONNECTOR_QUEUE_PROTOCOL: "api" });
    const run = await runInProcess(world, env);

    assert.is(run.status, 0);
    const standin = world.platform!.standin;
    assert.is(standin.callsOf("addExpectations").length, 0);
    const pushes = standin.callsOf("StixBundlePush");
    assert.is(pushes.length, run.reports[0].totals.messages);
    assert.ok(
      pushes.every((call) => typeof call.variables.work_id === "string"),
    );

    const works = worksOf(world);
    assert.is(works.length, 1);
    const work = works[0];
    await workImported(world, work.id);
    const received = world.worker!.received;
    assert.ok(received.every((entry) => entry.origin === "platform"));
    assert.is(work.expected, received.length);
    assert.is(work.processed, work.expected);
    assert.is(work.status, "complete");

    const diff = compareDelivered(
      world.worker!.objects,
      await expectedObjects(world, env),
      { split: true },
    );
    assert.equal(diff.missing, []);
    assert.equal(diff.extra, []);
    assert.equal(diff.different, []);
    assert.type(savedState(world)?.next_position, "string");
  } finally {
    await world.close();
  }
});

t.run();
