/**
 * The connector as a process: `deno run` with exactly the permission flags
 * the executable is compiled with, so these tests also show that the flags
 * suffice for a whole run.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { STOPPED_WORK_MESSAGE } from "../../src/runtime/sync_run.ts";
import { brokerAvailable } from "../support/amqp.ts";
import {
  changelogFrom,
  createWorld,
  directoryObjects,
  expectedObjects,
  logRecords,
  PLATFORM_TOKEN,
  recordsWith,
  reportIds,
  savedState,
  spawnConnector,
  waitUntil,
  worksOf,
} from "./e2e_support.ts";

const t = suite("e2e: process");
const queueTest = await brokerAvailable() ? t : t.skip;

/** The exit deadline after SIGTERM that the connector promises. */
const SHUTDOWN_LIMIT_MS = 10_000;
/** The maximum duration of one connector process in these tests. */
const RUN_LIMIT_MS = 60_000;

queueTest("SIGTERM mid-run exits 0 with a safe state", async () => {
  const world = await createWorld({
    platform: true,
    malware: 120,
    pageSize: 20,
    latencyMs: 80,
  });
  try {
    const env = world.env({ CONNECTOR_RUN_AND_TERMINATE: "false" });
    const connector = spawnConnector(world, env);
    await waitUntil(
      () => savedState(world)?.next_position !== undefined,
      "the first saved page",
    );
    const standinConnector = world.platform!.standin.connectors.get(
      world.connectorId,
    )!;
    const pingsBefore = standinConnector.pings;

    connector.child.kill("SIGTERM");
    const code = await connector.exited(SHUTDOWN_LIMIT_MS);

    assert.is(code, 0, connector.stderr().slice(-2000));
    const records = logRecords(connector.stderr());
    assert.is(recordsWith(records, "Connector stopped").length, 1);
    assert.ok(standinConnector.pings > pingsBefore, "no final ping");
    const [work] = worksOf(world);
    assert.ok(work.messages.at(-1)?.message?.startsWith(STOPPED_WORK_MESSAGE));

    // Every threat read before the saved position has been delivered.
    const state = savedState(world)!;
    const rest = await changelogFrom(
      world.simulator,
      String(state.next_position),
    );
    const ordered = [...world.changelog].sort((a, b) =>
      a.occurredOn - b.occurredOn
    );
    assert.ok(rest.length > 0, "the run finished before the signal");
    const before = ordered.slice(0, ordered.length - rest.length);
    const reports = reportIds(await expectedObjects(world, env));
    const due = [
      ...new Set(
        before.map((event) => `${event.threatType}:${event.threatId}`),
      ),
    ].flatMap((key) => reports.has(key) ? [reports.get(key)!] : []);
    assert.ok(due.length > 0);
    await world.worker!.waitFor((s) => due.every((id) => s.objects.has(id)));
  } finally {
    await world.close();
  }
});

t("run and terminate exits 0", async () => {
  const world = await createWorld({ malware: 10 });
  try {
    const connector = spawnConnector(world, world.env());
    const code = await connector.exited(RUN_LIMIT_MS);

    assert.is(code, 0, connector.stderr().slice(-2000));
    const written = await directoryObjects(world.outputDirectory);
    assert.ok(written.files.length > 0);
    const finished = recordsWith(
      logRecords(connector.stderr()),
      "Connector run finished",
    );
    assert.is(finished.length, 1);
    assert.not.match(connector.stderr(), world.simulator.password);
  } finally {
    await world.close();
  }
});

t("failed single run exits 1", async () => {
  const world = await createWorld({ malware: 5 });
  try {
    world.simulator.injectFault({
      kind: "status",
      status: 500,
      match: { endpoint: "threat/updates" },
      times: Infinity,
    });
    const connector = spawnConnector(
      world,
      world.env({ COFENSE_THREATHQ_API_RETRY: "0" }),
    );
    const code = await connector.exited(RUN_LIMIT_MS);

    assert.is(code, 1, connector.stderr().slice(-2000));
    const records = logRecords(connector.stderr());
    const failed = records.filter((record) =>
      String(record.message).startsWith("Connector run failed")
    );
    assert.is(failed.length, 1);
  } finally {
    await world.close();
  }
});

t("ThreatHQ 401 exits 3", async () => {
  const world = await createWorld({ malware: 5 });
  try {
    const password = "wrong-secret-4711";
    const connector = spawnConnector(
      world,
      world.env({ COFENSE_THREATHQ_TOKEN_PASSWORD: password }),
    );
    const code = await connector.exited(RUN_LIMIT_MS);

    assert.is(code, 3, connector.stderr().slice(-2000));
    const rejected = recordsWith(
      logRecords(connector.stderr()),
      "Credentials rejected; fix them and start again",
    );
    assert.is(rejected.length, 1);
    const attributes = rejected[0].attributes as Record<string, unknown>;
    assert.is(attributes.service, "ThreatHQ");
    assert.not.match(connector.stderr(), password);
  } finally {
    await world.close();
  }
});

queueTest("OpenCTI token rejected exits 3", async () => {
  const world = await createWorld({ platform: true, malware: 5 });
  try {
    const token = `not-${PLATFORM_TOKEN}`;
    const connector = spawnConnector(
      world,
      world.env({ OPENCTI_TOKEN: token }),
    );
    const code = await connector.exited(RUN_LIMIT_MS);

    assert.is(code, 3, connector.stderr().slice(-2000));
    const rejected = recordsWith(
      logRecords(connector.stderr()),
      "Credentials rejected; fix them and start again",
    );
    assert.is(rejected.length, 1);
    const attributes = rejected[0].attributes as Record<string, unknown>;
    assert.is(attributes.service, "OpenCTI");
    assert.not.match(connector.stderr(), token);
  } finally {
    await world.close();
  }
});

t("invalid settings exit 2", async () => {
  const world = await createWorld({ malware: 1 });
  try {
    const env = world.env({ COFENSE_THREATHQ_API_RETRY: "-1" });
    const connector = spawnConnector(world, env);
    const code = await connector.exited(RUN_LIMIT_MS);

    assert.is(code, 2, connector.stderr().slice(-2000));
    const records = logRecords(connector.stderr());
    assert.is(records.length, 1);
    assert.is(records[0].message, "Invalid settings; fix them and start again");
    assert.match(
      String(records[0].attributes && JSON.stringify(records[0].attributes)),
      "COFENSE_THREATHQ_API_RETRY",
    );
    assert.not.match(connector.stderr(), env.COFENSE_THREATHQ_TOKEN_PASSWORD);
  } finally {
    await world.close();
  }
});

t("unknown argument exits 2", async () => {
  const world = await createWorld({ malware: 1 });
  try {
    const connector = spawnConnector(world, world.env(), ["--bogus"]);
    const code = await connector.exited(RUN_LIMIT_MS);

    assert.is(code, 2);
    const records = logRecords(connector.stderr());
    assert.is(records.length, 1);
    assert.is(records[0].message, "Invalid command line");
  } finally {
    await world.close();
  }
});

t.run();
