import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createMemoryLogger } from "../../src/log/logger.ts";
import type { Clock } from "../../src/runtime/clock.ts";
import {
  amqpChannelFactory,
  type AmqpConnectionOptions,
} from "../../src/opencti/amqp_connection.ts";
import {
  AmqpPublishError,
  createAmqpPublisher,
} from "../../src/opencti/amqp_publisher.ts";
import { splitObjects } from "../../src/opencti/splitter.ts";
import {
  BROKER_HOST,
  BROKER_PORT,
  BROKER_URL,
  brokerAvailable,
  declareTestRoute,
} from "../support/amqp.ts";
import {
  connectorMessages,
  createWorkerStandin,
  type ExpectationError,
  samplePage,
} from "../support/worker_standin.ts";

const t = suite("opencti: amqp publisher on RabbitMQ");
const test = await brokerAvailable() ? t : t.skip;

const APPLICANT = "88ec0c6a-13ce-5e39-b486-354fe4a7084f";

function brokerOptions(
  overrides: Partial<AmqpConnectionOptions> = {},
): AmqpConnectionOptions {
  return {
    host: BROKER_HOST,
    port: BROKER_PORT,
    vhost: "/",
    username: "guest",
    password: "guest",
    useSsl: false,
    connectionName: "threathq-connector test",
    ...overrides,
  };
}

function reportRecorder() {
  const reports: Array<{ workId: string; error: ExpectationError | null }> = [];
  const report = (workId: string, error: ExpectationError | null) => {
    reports.push({ workId, error });
    return Promise.resolve();
  };
  return { reports, report };
}

test("page arrives in dependency order", async () => {
  const route = await declareTestRoute();
  const { reports, report } = reportRecorder();
  const standin = await createWorkerStandin({
    amqpUrl: BROKER_URL,
    queue: route.queue,
    reportExpectation: report,
  });
  const publisher = createAmqpPublisher({
    connect: amqpChannelFactory(brokerOptions()),
    logger: createMemoryLogger(),
  });
  const workId = `work_${crypto.randomUUID()}_2024-01-15T10:30:00.123Z`;

  try {
    const split = splitObjects(samplePage(20));
    const result = await publisher.publishSplit(split, {
      workId,
      applicantId: APPLICANT,
      exchange: route.exchange,
      routingKey: route.routingKey,
    });
    await standin.waitFor((s) => s.received.length >= split.expectations);

    assert.is(result.messages, split.expectations);
    assert.equal(standin.errors, []);
    assert.is(standin.objects.size, split.expectations);
    assert.equal(
      connectorMessages(standin.received).map((m) => m.action_sequence),
      split.bundles.map((_, index) => index + 1),
    );
    const seqs = standin.received.map((entry) => entry.bundle.x_opencti_seq);
    assert.equal(seqs, [...seqs].sort((a, b) => Number(a) - Number(b)));
    const types = standin.received.map((entry) =>
      (entry.bundle.objects as Array<{ type: string }>)[0].type
    );
    assert.is(types.at(-1), "report");
    assert.ok(types.indexOf("identity") < types.indexOf("ipv4-addr"));
    assert.ok(types.indexOf("marking-definition") < types.indexOf("ipv4-addr"));
    assert.ok(types.lastIndexOf("ipv4-addr") < types.indexOf("indicator"));
    assert.is(reports.length, split.expectations);
    assert.ok(reports.every((entry) => entry.workId === workId));
    assert.ok(reports.every((entry) => entry.error === null));
  } finally {
    await publisher.close();
    await standin.stop();
    await route.delete();
  }
});

test("messages persistent and plain", async () => {
  const route = await declareTestRoute();
  const standin = await createWorkerStandin({
    amqpUrl: BROKER_URL,
    queue: route.queue,
    reportExpectation: reportRecorder().report,
  });
  const publisher = createAmqpPublisher({
    connect: amqpChannelFactory(brokerOptions()),
    logger: createMemoryLogger(),
  });

  try {
    await publisher.publishPage(samplePage(1), {
      applicantId: null,
      exchange: route.exchange,
      routingKey: route.routingKey,
    });
    await standin.waitFor((s) => s.received.length >= 1);
    const [first] = standin.received;
    const [message] = connectorMessages(standin.received);

    assert.is(first.origin, "connector");
    assert.is(first.deliveryMode, 2);
    assert.is(first.contentEncoding, "utf-8");
    assert.is(first.contentType, undefined);
    assert.is(message.applicant_id, null);
    assert.not.ok("work_id" in message);
  } finally {
    await publisher.close();
    await standin.stop();
    await route.delete();
  }
});

test("broker nacks then accepts", async () => {
  // A queue that keeps at most 3 ready messages and nacks further publishes.
  const route = await declareTestRoute({
    "x-max-length": 3,
    "x-overflow": "reject-publish",
  });
  const { report } = reportRecorder();
  let standin: Awaited<ReturnType<typeof createWorkerStandin>> | undefined;
  const sleeps: number[] = [];
  // Each backoff wait lasts until the queue has room again, so the next
  // attempt can succeed without a timed sleep. The stand-in starts on the
  // first wait, and each of its deliveries frees a place.
  const clock: Clock = {
    now: () => Date.now(),
    async sleep(ms) {
      sleeps.push(ms);
      standin ??= await createWorkerStandin({
        amqpUrl: BROKER_URL,
        queue: route.queue,
        reportExpectation: report,
      });
      while (true) {
        const seen = standin.received.length;
        if (await route.messageCount() < 3) return;
        await standin.waitFor((s) => s.received.length > seen);
      }
    },
  };
  const logger = createMemoryLogger();
  // RabbitMQ sometimes nacks several messages at once, which the client
  // library misses, so the short confirm timeout recovers those messages.
  const publisher = createAmqpPublisher({
    connect: amqpChannelFactory(brokerOptions()),
    logger,
    clock,
    maxInFlight: 4,
    confirmTimeoutMs: 1_000,
  });

  try {
    const split = splitObjects(samplePage(8));
    const result = await publisher.publishSplit(split, {
      applicantId: APPLICANT,
      exchange: route.exchange,
      routingKey: route.routingKey,
    });
    await standin!.waitFor((s) => s.objects.size >= split.expectations);

    assert.is(result.messages, split.expectations);
    assert.ok(sleeps.length >= 1);
    // A nack the client reads is retried at once; one it misses ends in
    // the confirm timeout.
    const retries = logger.records().filter((record) =>
      record.message === "Unable to send bundle, retry..." ||
      record.message === "RabbitMQ confirms timed out, reconnecting"
    );
    assert.is(retries.length, sleeps.length);
    assert.is(standin!.objects.size, split.expectations);
    assert.equal(standin!.errors, []);
  } finally {
    await publisher.close();
    await standin?.stop();
    await route.delete();
  }
});

/** A publisher to the real broker whose clock records every backoff. */
function recordingPublisher() {
  const clock: Clock & { sleeps: number[] } = {
    sleeps: [],
    now: () => Date.now(),
    sleep(ms) {
      this.sleeps.push(ms);
      return Promise.resolve();
    },
  };
  const publisher = createAmqpPublisher({
    connect: amqpChannelFactory(brokerOptions()),
    logger: createMemoryLogger(),
    clock,
  });
  return { clock, publisher };
}

test("missing exchange fails at once", async () => {
  const { clock, publisher } = recordingPublisher();

  try {
    const error = await publisher.publishPage(samplePage(1), {
      applicantId: APPLICANT,
      exchange: `test.${crypto.randomUUID()}.absent`,
      routingKey: "push_routing_absent",
    }).catch((caught: unknown) => caught);

    assert.instance(error, AmqpPublishError);
    assert.match((error as Error).message, /NOT_FOUND/);
    assert.equal(clock.sleeps, []);
  } finally {
    await publisher.close();
  }
});

test("unroutable page fails at once", async () => {
  const { clock, publisher } = recordingPublisher();

  try {
    // amq.direct exists on every broker; no queue is bound to this key,
    // as after the push queue was deleted.
    const error = await publisher.publishPage(samplePage(3), {
      applicantId: APPLICANT,
      exchange: "amq.direct",
      routingKey: `push_routing_${crypto.randomUUID()}`,
    }).catch((caught: unknown) => caught);

    assert.instance(error, AmqpPublishError);
    assert.match((error as Error).message, /NO_ROUTE/);
    assert.equal(clock.sleeps, []);
  } finally {
    await publisher.close();
  }
});

test("wrong password stays secret", async () => {
  const password = `wrong-${crypto.randomUUID()}`;
  const logger = createMemoryLogger();
  const publisher = createAmqpPublisher({
    connect: amqpChannelFactory(brokerOptions({ password })),
    logger,
  });

  const error = await publisher.publishPage(samplePage(1), {
    applicantId: APPLICANT,
    exchange: "amqp.worker.exchange",
    routingKey: "push_routing_none",
  }).catch((caught: unknown) => caught);

  assert.instance(error, AmqpPublishError);
  assert.match((error as Error).message, /ACCESS_REFUSED/);
  assert.not.match((error as Error).message, password);
  assert.not.match((error as Error).stack ?? "", password);
  assert.ok(logger.lines.length > 0);
  assert.ok(logger.lines.every((line) => !line.includes(password)));
});

t.run();
