import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createMemoryLogger } from "../../src/log/logger.ts";
import type { Clock } from "../../src/runtime/clock.ts";
import { amqpChannelFactory } from "../../src/opencti/amqp_connection.ts";
import { createAmqpPublisher } from "../../src/opencti/amqp_publisher.ts";
import { splitObjects } from "../../src/opencti/splitter.ts";
import {
  BROKER_HOST,
  BROKER_PORT,
  BROKER_URL,
  brokerAvailable,
  declareTestRoute,
} from "../support/amqp.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp_proxy.ts";
import {
  connectorMessages,
  createWorkerStandin,
  samplePage,
} from "../support/worker_standin.ts";

const t = suite("opencti: amqp reconnect");
const test = await brokerAvailable() ? t : t.skip;

const APPLICANT = "88ec0c6a-13ce-5e39-b486-354fe4a7084f";
const IN_FLIGHT = 5;

type SleepHook = (sleeps: number[], proxy: TcpProxy) => void;

/** A clock whose waits return at once and run `onSleep` first. */
function hookedClock(proxy: TcpProxy, onSleep: SleepHook = () => {}) {
  const sleeps: number[] = [];
  const clock: Clock = {
    now: () => Date.now(),
    sleep(ms) {
      sleeps.push(ms);
      onSleep(sleeps, proxy);
      return Promise.resolve();
    },
  };
  return { clock, sleeps };
}

async function setUp(onSleep?: SleepHook) {
  const route = await declareTestRoute();
  const proxy = startTcpProxy({ target: `${BROKER_HOST}:${BROKER_PORT}` });
  const standin = await createWorkerStandin({
    amqpUrl: BROKER_URL,
    queue: route.queue,
    reportExpectation: () => Promise.resolve(),
  });
  const logger = createMemoryLogger();
  const { clock, sleeps } = hookedClock(proxy, onSleep);
  const publisher = createAmqpPublisher({
    connect: amqpChannelFactory({
      host: "127.0.0.1",
      port: proxy.port,
      vhost: "/",
      username: "guest",
      password: "guest",
      useSsl: false,
    }),
    logger,
    clock,
    maxInFlight: IN_FLIGHT,
  });
  const target = {
    workId: `work_${crypto.randomUUID()}_2024-01-15T10:30:00.123Z`,
    applicantId: APPLICANT,
    exchange: route.exchange,
    routingKey: route.routingKey,
  };
  const tearDown = async () => {
    await publisher.close();
    await proxy.stop();
    await standin.stop();
    await route.delete();
  };
  return { route, proxy, standin, logger, sleeps, publisher, target, tearDown };
}

test("cut mid-page loses nothing", async () => {
  const context = await setUp();
  const { proxy, standin, publisher, target } = context;

  try {
    // A first page opens the connection through the proxy.
    await publisher.publishPage(samplePage(1), target);
    await standin.waitFor((s) => s.received.length >= 5);
    const before = standin.received.length;

    // Holding the broker's confirms stops the publisher after IN_FLIGHT
    // messages, which reach the queue but stay unconfirmed.
    proxy.pause(["toClient"]);
    const split = splitObjects(samplePage(15));
    const delivery = publisher.publishSplit(split, target);
    await standin.waitFor((s) => s.received.length >= before + IN_FLIGHT);
    proxy.cut();
    proxy.resume();
    const result = await delivery;
    await standin.waitFor((s) =>
      split.bundles.every((bundle) => s.objects.has(bundle.objects[0].id))
    );

    const page = connectorMessages(standin.received.slice(before));
    const sequences = new Set(page.map((message) => message.action_sequence));
    assert.is(result.messages, split.expectations);
    assert.is(sequences.size, split.expectations);
    assert.ok(page.length >= split.expectations + IN_FLIGHT);
    assert.ok(proxy.accepted >= 2);
    assert.equal(standin.errors, []);
    assert.ok(
      context.logger.records().some((record) =>
        record.message === "Lost the RabbitMQ connection, reconnecting"
      ),
    );
  } finally {
    await context.tearDown();
  }
});

test("cut drops messages in transit", async () => {
  const context = await setUp();
  const { proxy, standin, publisher, target } = context;

  try {
    await publisher.publishPage(samplePage(1), target);
    await standin.waitFor((s) => s.received.length >= 5);
    const before = standin.received.length;
    const sent = proxy.bytesRead("toServer");

    // Held in the proxy, the first messages of the page never reach the
    // broker: the cut discards them, so only a new publish delivers them.
    proxy.pause();
    const split = splitObjects(samplePage(10));
    const delivery = publisher.publishSplit(split, target);
    await proxy.waitForBytes("toServer", sent + 1);
    proxy.cut();
    proxy.resume();
    await delivery;
    await standin.waitFor((s) =>
      split.bundles.every((bundle) => s.objects.has(bundle.objects[0].id))
    );

    const page = connectorMessages(standin.received.slice(before));
    const sequences = new Set(page.map((message) => message.action_sequence));
    assert.is(sequences.size, split.expectations);
    assert.equal(standin.errors, []);
  } finally {
    await context.tearDown();
  }
});

test("reconnect backs off while refused", async () => {
  // The third wait lets connections through again.
  const context = await setUp((sleeps, proxy) => {
    if (sleeps.length === 3) proxy.refuseConnections(false);
  });
  const { proxy, standin, publisher, target, sleeps } = context;

  try {
    await publisher.publishPage(samplePage(1), target);
    await standin.waitFor((s) => s.received.length >= 5);
    proxy.refuseConnections(true);
    proxy.cut();

    const split = splitObjects(samplePage(2));
    await publisher.publishSplit(split, target);
    await standin.waitFor((s) =>
      split.bundles.every((bundle) => s.objects.has(bundle.objects[0].id))
    );

    assert.equal(sleeps, [1_000, 2_000, 4_000]);
    assert.ok(proxy.accepted >= 4);
  } finally {
    await context.tearDown();
  }
});

t.run();
