import { suite } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import {
  createFileStateStore,
  STATE_FILE_NAME,
} from "../../src/opencti/file_state.ts";
import { directoryModeConnectorId } from "../../src/opencti/directory_output.ts";
import { createMemoryLogger } from "../../src/log/logger.ts";
import { brokerAvailable } from "../support/amqp.ts";
import {
  changelogFrom,
  compareDelivered,
  createWorld,
  directoryObjects,
  expectedObjects,
  recordsWith,
  runInProcess,
  workImported,
  worksOf,
} from "./e2e_support.ts";

const t = suite("e2e: directory run");
const queueTest = await brokerAvailable() ? t : t.skip;

t("directory-only run writes every object", async () => {
  const world = await createWorld();
  try {
    const env = world.env();
    const run = await runInProcess(world, env);

    assert.is(run.status, 0);
    const written = await directoryObjects(world.outputDirectory);
    assert.ok(written.files.length > 1);
    assert.equal(run.reports[0].totals.files.length, written.files.length);
    const diff = compareDelivered(
      written.objects,
      await expectedObjects(world, env),
      { split: false },
    );
    assert.equal(diff.missing, []);
    assert.equal(diff.extra, []);
    assert.equal(diff.different, []);
    const platformCalls = run.records.filter((record) =>
      String(record.message).startsWith("Health check")
    );
    assert.equal(platformCalls, []);
  } finally {
    await world.close();
  }
});

t("directory-only state file holds the position", async () => {
  const world = await createWorld({ malware: 10 });
  try {
    await runInProcess(world, world.env());

    const store = createFileStateStore({
      directory: world.outputDirectory,
      logger: createMemoryLogger(),
    });
    assert.is(store.path, join(world.outputDirectory, STATE_FILE_NAME));
    const state = await store.read();
    assert.type(state?.next_position, "string");
    const rest = await changelogFrom(
      world.simulator,
      String(state!.next_position),
    );
    assert.equal(rest, []);
  } finally {
    await world.close();
  }
});

t("directory-only connector id stays the same", async () => {
  const world = await createWorld({ malware: 10 });
  try {
    const env = world.env();
    delete env.CONNECTOR_ID;
    await runInProcess(world, env);
    const first = await directoryObjects(world.outputDirectory);
    world.simulator.publish(
      { ...world.threats.values().next().value!, lastPublished: Date.now() },
      Date.now(),
    );

    const second = await runInProcess(world, env);
    const after = await directoryObjects(world.outputDirectory);

    assert.is(second.status, 0);
    assert.is(after.files.length, first.files.length + 1);
    assert.equal([...after.connectorIds], [
      directoryModeConnectorId("Cofense ThreatHQ"),
    ]);
  } finally {
    await world.close();
  }
});

t("second directory-only run writes nothing", async () => {
  const world = await createWorld({ malware: 10 });
  try {
    const env = world.env();
    await runInProcess(world, env);
    const first = await directoryObjects(world.outputDirectory);

    const second = await runInProcess(world, env);

    assert.is(second.status, 0);
    assert.equal(second.reports[0].totals.files, []);
    const after = await directoryObjects(world.outputDirectory);
    assert.equal(after.files, first.files);
    assert.is(
      recordsWith(second.records, "Bundle written to directory").length,
      0,
    );
  } finally {
    await world.close();
  }
});

queueTest("directory and queue get the same objects", async () => {
  const world = await createWorld({ platform: true, malware: 20 });
  try {
    const env = world.env({
      CONNECTOR_SEND_TO_DIRECTORY: "true",
      CONNECTOR_SEND_TO_DIRECTORY_PATH: world.outputDirectory,
    });
    const run = await runInProcess(world, env);

    assert.is(run.status, 0);
    const [work] = worksOf(world);
    await workImported(world, work.id);
    const written = await directoryObjects(world.outputDirectory);
    assert.equal(
      [...written.objects.keys()].sort(),
      [...world.worker!.objects.keys()].sort(),
    );
    assert.equal([...written.connectorIds], [world.connectorId]);
    const expected = await expectedObjects(world, env);
    const diff = compareDelivered(written.objects, expected, { split: false });
    assert.equal(diff.missing, []);
    assert.equal(diff.different, []);
    const wrapper = JSON.parse(
      await Deno.readTextFile(join(world.outputDirectory, written.files[0])),
    );
    assert.is(wrapper.applicant_id, world.platform!.standin.user.id);
  } finally {
    await world.close();
  }
});

t.run();
