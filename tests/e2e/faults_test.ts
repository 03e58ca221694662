import { suite } from "uvu";
import * as assert from "uvu/assert";
import { STATE_RESET_WORK_MESSAGE } from "../../src/opencti/run_work.ts";
import { BROKER_HOST, BROKER_PORT, brokerAvailable } from "../support/amqp.ts";
import { startTcpProxy } from "../support/tcp_proxy.ts";
import {
  changelogFrom,
  compareDelivered,
  createWorld,
  expectedObjects,
  recordsWith,
  runInProcess,
  savedState,
  scaledClock,
  waitUntil,
  worksOf,
} from "./e2e_support.ts";

const t = suite("e2e: faults");
const test = await brokerAvailable() ? t : t.skip;

/** Bytes sent to the broker before the cut: well inside the run. */
const CUT_AFTER_BYTES = 150_000;

test("broker cut mid-run loses nothing", async () => {
  const world = await createWorld({ platform: true });
  const proxy = startTcpProxy({ target: `${BROKER_HOST}:${BROKER_PORT}` });
  try {
    const env = world.env({
      MQ_HOST: "127.0.0.1",
      MQ_PORT: String(proxy.port),
    });
    const running = runInProcess(world, env, { clock: scaledClock() });
    const first = await Promise.race([
      proxy.waitForBytes("toServer", CUT_AFTER_BYTES).then(() => "bytes"),
      running.then(() => "finished"),
    ]);
    assert.is(first, "bytes", "the run finished before the cut");
    proxy.cut();
    const run = await running;

    assert.is(run.status, 0);
    assert.is(run.reports[0].end, "completed");
    const lost = recordsWith(
      run.records,
      "Lost the RabbitMQ connection, reconnecting",
    );
    assert.ok(lost.length >= 1, "no reconnection was logged");
    assert.ok(proxy.accepted >= 3);
    const expected = await expectedObjects(world, env);
    const ids = [...expected.values()].flat().map((object) => object.id);
    await world.worker!.waitFor((s) => ids.every((id) => s.objects.has(id)));
    const diff = compareDelivered(world.worker!.objects, expected, {
      split: true,
    });
    assert.equal(diff.missing, []);
    assert.equal(diff.extra, []);
    assert.equal(diff.different, []);
    assert.equal(world.worker!.errors, []);
    const state = savedState(world)!;
    const rest = await changelogFrom(
      world.simulator,
      String(state.next_position),
    );
    assert.equal(rest, []);
  } finally {
    await proxy.stop();
    await world.close();
  }
});

test("platform down at start recovers", async () => {
  const world = await createWorld({ platform: true, malware: 10 });
  const platformPort = new URL(world.platform!.standin.url).port;
  const proxy = startTcpProxy({ target: `127.0.0.1:${platformPort}` });
  proxy.refuseConnections(true);
  try {
    const env = world.env({ OPENCTI_URL: `http://127.0.0.1:${proxy.port}` });
    const running = runInProcess(world, env, { clock: scaledClock() });
    await waitUntil(() => proxy.accepted >= 3, "three refused connections");
    proxy.refuseConnections(false);
    const run = await running;

    assert.is(run.status, 0);
    const waits = recordsWith(
      run.records,
      "OpenCTI platform is not reachable yet, retrying",
    );
    assert.ok(waits.length >= 2, `${waits.length} retries logged`);
    const expected = await expectedObjects(world, env);
    const ids = [...expected.values()].flat().map((object) => object.id);
    await world.worker!.waitFor((s) => ids.every((id) => s.objects.has(id)));
    assert.equal(
      compareDelivered(world.worker!.objects, expected, { split: true })
        .missing,
      [],
    );
    assert.type(savedState(world)?.next_position, "string");
  } finally {
    await proxy.stop();
    await world.close();
  }
});

test("reset during a run stops without saving", async () => {
  const world = await createWorld({ platform: true });
  const standin = world.platform!.standin;
  try {
    // The first two pings come from the ping loop and the run's start; the
    // third is the first save, held until the state is reset.
    const startPings = [
      standin.pause("PingConnector"),
      standin.pause("PingConnector"),
    ];
    const firstSave = standin.pause("PingConnector");
    for (const ping of startPings) ping.reached.then(() => ping.release());
    firstSave.reached.then(async () => {
      await standin.resetState(world.connectorId);
      firstSave.release();
    });

    const run = await runInProcess(world, world.env());

    assert.is(run.status, 0);
    const report = run.reports[0];
    assert.is(report.end, "reset");
    assert.is(report.totals.results, 1);
    assert.is(report.savedState, undefined);
    assert.is(savedState(world), undefined);
    const [work] = worksOf(world);
    assert.is(work.messages.at(-1)?.message, STATE_RESET_WORK_MESSAGE);

    const reads = world.simulator.requestsTo("threat/updates").length;
    const next = await runInProcess(world, world.env());
    assert.is(next.reports[0].end, "completed");
    const read = world.simulator.requestsTo("threat/updates")[reads];
    assert.match(read.query, /^\?timestamp=\d+$/);
  } finally {
    await world.close();
  }
});

t.run();
