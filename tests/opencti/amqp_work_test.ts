import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createMemoryLogger } from "../../src/log/logger.ts";
import {
  amqpChannelFactory,
  resolveAmqpConnection,
} from "../../src/opencti/amqp_connection.ts";
import { createAmqpPublisher } from "../../src/opencti/amqp_publisher.ts";
import { createApiPusher } from "../../src/opencti/api_push.ts";
import { splitObjects } from "../../src/opencti/splitter.ts";
import { BROKER_URL, brokerAvailable } from "../support/amqp.ts";
import {
  type PlatformFixture,
  startPlatform,
} from "../support/platform_fixture.ts";
import {
  createWorkerStandin,
  samplePage,
  type WorkerStandin,
} from "../support/worker_standin.ts";

const t = suite("opencti: delivery to a work");
const test = await brokerAvailable() ? t : t.skip;

interface Context {
  platform: PlatformFixture;
  worker: WorkerStandin;
  registration: Awaited<
    ReturnType<PlatformFixture["api"]["registerConnector"]>
  >;
}

/**
 * Registers a connector on the platform stand-in, which declares its push
 * queue on the broker, and starts a worker stand-in on that queue that
 * reports to the platform.
 */
async function setUp(): Promise<Context> {
  const platform = await startPlatform({ amqpUrl: BROKER_URL });
  const registration = await platform.api.registerConnector({
    id: platform.connectorId,
    name: "Cofense ThreatHQ",
    type: "EXTERNAL_IMPORT",
    scope: ["Cofense ThreatHQ"],
    auto: false,
    only_contextual: false,
    playbook_compatible: false,
  });
  const worker = await createWorkerStandin({
    amqpUrl: BROKER_URL,
    queue: registration.pushQueue,
    reportExpectation: (workId, error) =>
      platform.api.reportExpectation(workId, error ?? undefined),
    isWorkAlive: (workId) => platform.api.isWorkAlive(workId),
  });
  return { platform, worker, registration };
}

async function tearDown(context: Context): Promise<void> {
  await context.worker.stop();
  await context.platform.stop();
}

test("amqp page completes the work", async () => {
  const context = await setUp();
  const { platform, worker, registration } = context;
  const publisher = createAmqpPublisher({
    connect: amqpChannelFactory(
      await resolveAmqpConnection(registration.connection, {}),
    ),
    logger: createMemoryLogger(),
  });

  try {
    const workId = await platform.api.addWork(
      platform.connectorId,
      "Cofense ThreatHQ - run @ test",
    );
    const split = splitObjects(samplePage(5));
    await platform.api.addExpectations(workId, split.expectations);
    await publisher.publishSplit(split, {
      workId,
      applicantId: registration.connectorUserId,
      exchange: registration.pushExchange,
      routingKey: registration.pushRoutingKey,
    });
    await worker.waitFor((s) => s.objects.size >= split.expectations);
    await platform.api.markWorkProcessed(workId, "Finished work", false);
    const work = platform.standin.works.get(workId)!;

    assert.equal(worker.errors, []);
    assert.is(platform.standin.callsOf("addExpectations").length, 1);
    assert.is(work.expected, split.expectations);
    assert.is(work.processed, split.expectations);
    assert.is(work.status, "complete");
    assert.equal(work.errors, []);
  } finally {
    await publisher.close();
    await tearDown(context);
  }
});

test("api push adds no expectations", async () => {
  const context = await setUp();
  const { platform, worker } = context;
  const pusher = createApiPusher({
    api: platform.api,
    connectorId: platform.connectorId,
    logger: createMemoryLogger(),
  });

  try {
    const workId = await platform.api.addWork(
      platform.connectorId,
      "Cofense ThreatHQ - run @ test",
    );
    const objects = samplePage(3);
    const bundle = {
      type: "bundle",
      id: `bundle--${crypto.randomUUID()}`,
      spec_version: "2.1",
      objects,
    };
    await pusher.pushBundle(bundle, { workId });
    await worker.waitFor((s) => s.objects.size >= objects.length);
    await platform.api.markWorkProcessed(workId, "Finished work", false);
    const work = platform.standin.works.get(workId)!;

    assert.is(platform.standin.callsOf("addExpectations").length, 0);
    assert.equal(worker.errors, []);
    assert.ok(worker.received.every((entry) => entry.origin === "platform"));
    assert.is(work.expected, objects.length);
    assert.is(work.processed, objects.length);
    assert.is(work.status, "complete");
  } finally {
    await tearDown(context);
  }
});

t.run();
