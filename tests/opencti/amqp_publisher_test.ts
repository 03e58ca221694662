import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createMemoryLogger } from "../../src/log/logger.ts";
import { createFakeClock } from "../../src/runtime/clock.ts";
import {
  amqpUrl,
  type ConfirmChannel,
  describeBroker,
  resolveAmqpConnection,
} from "../../src/opencti/amqp_connection.ts";
import {
  AmqpPublishError,
  backoffMs,
  createAmqpPublisher,
} from "../../src/opencti/amqp_publisher.ts";
import {
  decodeContent,
  queueMessageSchema,
} from "../../src/opencti/message.ts";
import { splitObjects } from "../../src/opencti/splitter.ts";

const t = suite("opencti: amqp publisher");

const TARGET = {
  applicantId: "88ec0c6a-13ce-5e39-b486-354fe4a7084f",
  workId: "work_test_2024-01-15T10:30:00.123Z",
  exchange: "amqp.worker.exchange",
  routingKey: "push_routing_test",
};

function identities(count: number) {
  return Array.from({ length: count }, (_, index) => ({
    type: "identity",
    spec_version: "2.1",
    id: `identity--${crypto.randomUUID()}`,
    name: `Identity ${index}`,
  }));
}

/**
 * Creates a channel double. `respond` decides each publish's outcome, in call
 * order; `undefined` confirms it.
 */
function fakeChannel(respond: (call: number) => Error | undefined = () => {}) {
  const published: Array<
    { exchange: string; routingKey: string; body: string }
  > = [];
  let closed = false;
  const channel: ConfirmChannel & { published: typeof published } = {
    published,
    get closed() {
      return closed;
    },
    publish(exchange, routingKey, body) {
      published.push({ exchange, routingKey, body });
      const failure = respond(published.length);
      return failure === undefined
        ? Promise.resolve()
        : Promise.reject(failure);
    },
    close() {
      closed = true;
      return Promise.resolve();
    },
  };
  return { channel, published, lose: () => void (closed = true) };
}

t("messages carry sequence and work", async () => {
  const { channel, published } = fakeChannel();
  const publisher = createAmqpPublisher({
    connect: () => Promise.resolve(channel),
    logger: createMemoryLogger(),
  });
  const split = splitObjects(identities(3));

  const result = await publisher.publishSplit(split, TARGET);
  const messages = published.map((entry) =>
    queueMessageSchema.parse(JSON.parse(entry.body))
  );

  assert.is(result.messages, 3);
  assert.equal(messages.map((message) => message.action_sequence), [1, 2, 3]);
  for (const [index, message] of messages.entries()) {
    assert.is(message.work_id, TARGET.workId);
    assert.is(message.applicant_id, TARGET.applicantId);
    assert.equal(decodeContent(message.content), split.bundles[index]);
    assert.is(published[index].exchange, TARGET.exchange);
    assert.is(published[index].routingKey, TARGET.routingKey);
  }
});

t("body uses python json layout", async () => {
  const { channel, published } = fakeChannel();
  const publisher = createAmqpPublisher({
    connect: () => Promise.resolve(channel),
    logger: createMemoryLogger(),
  });

  await publisher.publishPage(identities(1), TARGET);

  assert.match(
    published[0].body,
    /^\{"bundle_type": "QUEUE_BUNDLE", "applicant_id": "88ec0c6a-/,
  );
});

t("empty page opens no connection", async () => {
  let connects = 0;
  const publisher = createAmqpPublisher({
    connect: () => {
      connects += 1;
      return Promise.reject(new Error("unexpected connect"));
    },
    logger: createMemoryLogger(),
  });

  const result = await publisher.publishPage([], TARGET);

  assert.is(result.messages, 0);
  assert.is(connects, 0);
});

t("nacked messages published again", async () => {
  const { channel, published } = fakeChannel((call) =>
    call === 2 ? new Error("Message rejected") : undefined
  );
  const clock = createFakeClock();
  const logger = createMemoryLogger();
  const publisher = createAmqpPublisher({
    connect: () => Promise.resolve(channel),
    logger,
    clock,
    maxInFlight: 1,
  });

  const result = await publisher.publishPage(identities(3), TARGET);
  const sequences = published.map((entry) =>
    JSON.parse(entry.body).action_sequence
  );

  assert.is(result.messages, 3);
  // With one message in flight, the nack of message 2 stops the attempt;
  // the retry starts at message 2 again.
  assert.equal(sequences, [1, 2, 2, 3]);
  assert.equal(clock.sleeps, [1_000]);
  const warning = logger.records().find((record) => record.level === "WARNING");
  assert.is(warning?.message, "Unable to send bundle, retry...");
});

t("lost channel reopened", async () => {
  const first = fakeChannel((call) =>
    call === 2 ? new Error("Socket closed") : undefined
  );
  const second = fakeChannel();
  const channels = [first, second];
  let connects = 0;
  const logger = createMemoryLogger();
  const publisher = createAmqpPublisher({
    connect: () => {
      const next = channels[connects++];
      if (connects === 1) {
        // The socket closes while message 2 is unconfirmed.
        const publish = next.channel.publish;
        next.channel.publish = (...args) => {
          const outcome = publish(...args);
          if (next.published.length === 2) next.lose();
          return outcome;
        };
      }
      return Promise.resolve(next.channel);
    },
    logger,
    clock: createFakeClock(),
    maxInFlight: 1,
  });

  await publisher.publishPage(identities(4), TARGET);
  const resent = second.published.map((entry) =>
    JSON.parse(entry.body).action_sequence
  );

  assert.is(connects, 2);
  assert.equal(resent, [2, 3, 4]);
  const warning = logger.records().find((record) => record.level === "WARNING");
  assert.is(warning?.message, "Lost the RabbitMQ connection, reconnecting");
});

t("stalled confirms published again", async () => {
  // The first channel confirms message 1 and never settles the others.
  const stalled = fakeChannel();
  stalled.channel.publish = (exchange, routingKey, body) => {
    stalled.published.push({ exchange, routingKey, body });
    return stalled.published.length === 1
      ? Promise.resolve()
      : new Promise<void>(() => {});
  };
  const fresh = fakeChannel();
  const channels = [stalled, fresh];
  let connects = 0;
  const logger = createMemoryLogger();
  const publisher = createAmqpPublisher({
    connect: () => Promise.resolve(channels[connects++].channel),
    logger,
    clock: createFakeClock(),
    maxInFlight: 2,
    confirmTimeoutMs: 20,
  });

  const result = await publisher.publishPage(identities(4), TARGET);
  const resent = fresh.published.map((entry) =>
    JSON.parse(entry.body).action_sequence
  );

  assert.is(result.messages, 4);
  assert.is(connects, 2);
  assert.equal(resent, [2, 3, 4]);
  assert.ok(stalled.channel.closed);
  const warning = logger.records().find((record) => record.level === "WARNING");
  assert.is(warning?.message, "RabbitMQ confirms timed out, reconnecting");
});

t("gives up after max attempts", async () => {
  const clock = createFakeClock();
  const logger = createMemoryLogger();
  const publisher = createAmqpPublisher({
    connect: () => Promise.reject(new Error("connect ECONNREFUSED")),
    logger,
    clock,
    retry: { maxAttempts: 4, initialDelayMs: 100, maxDelayMs: 250 },
  });

  const error = await publisher.publishPage(identities(2), TARGET).then(
    () => undefined,
    (caught: unknown) => caught,
  );

  assert.instance(error, AmqpPublishError);
  const failure = error as AmqpPublishError;
  assert.is(failure.unconfirmed, 2);
  assert.is(failure.total, 2);
  assert.is(failure.attempts, 4);
  assert.match(failure.message, /ECONNREFUSED/);
  assert.equal(clock.sleeps, [100, 200, 250]);
  const last = logger.records().at(-1);
  assert.is(last?.message, "Giving up publishing the page to RabbitMQ");
});

t("progress resets the attempt count", async () => {
  // Every second publish is nacked, so each attempt confirms one message
  // and the page completes although it fails more often than maxAttempts.
  const { channel } = fakeChannel((call) =>
    call % 2 === 0 ? new Error("Message rejected") : undefined
  );
  const clock = createFakeClock();
  const publisher = createAmqpPublisher({
    connect: () => Promise.resolve(channel),
    logger: createMemoryLogger(),
    clock,
    maxInFlight: 1,
    retry: { maxAttempts: 2 },
  });

  const result = await publisher.publishPage(identities(6), TARGET);

  assert.is(result.messages, 6);
  assert.ok(clock.sleeps.length >= 3);
  assert.ok(clock.sleeps.every((ms) => ms === 1_000));
});

t("refused credentials not retried", async () => {
  const clock = createFakeClock();
  const publisher = createAmqpPublisher({
    connect: () =>
      Promise.reject(
        new Error(
          "connection closed: ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN (403)",
        ),
      ),
    logger: createMemoryLogger(),
    clock,
  });

  const error = await publisher.publishPage(identities(1), TARGET).catch((
    caught: unknown,
  ) => caught);

  assert.instance(error, AmqpPublishError);
  assert.is((error as AmqpPublishError).attempts, 1);
  assert.equal(clock.sleeps, []);
});

t("abort stops the retries", async () => {
  const controller = new AbortController();
  const clock = createFakeClock();
  const publisher = createAmqpPublisher({
    connect: () => {
      controller.abort(new Error("stopping"));
      return Promise.reject(new Error("connect ECONNREFUSED"));
    },
    logger: createMemoryLogger(),
    clock,
  });

  const error = await publisher.publishPage(identities(1), {
    ...TARGET,
    signal: controller.signal,
  }).catch((caught: unknown) => caught);

  assert.instance(error, Error);
  assert.is((error as Error).message, "stopping");
});

t("close closes the channel", async () => {
  const { channel } = fakeChannel();
  const publisher = createAmqpPublisher({
    connect: () => Promise.resolve(channel),
    logger: createMemoryLogger(),
  });

  await publisher.publishPage(identities(1), TARGET);
  await publisher.close();

  assert.ok(channel.closed);
});

t("backoff doubles up to the cap", () => {
  const retry = { initialDelayMs: 1_000, maxDelayMs: 30_000, maxAttempts: 9 };

  assert.equal(
    [1, 2, 3, 4, 5, 6, 7].map((failures) => backoffMs(retry, failures)),
    [1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000],
  );
});

t("url encodes vhost and credentials", () => {
  const options = {
    host: "rabbit.internal",
    port: 5671,
    vhost: "/",
    username: "conn@cti",
    password: "p@ss/w:rd",
    useSsl: true,
  };

  assert.is(
    amqpUrl(options),
    "amqps://conn%40cti:p%40ss%2Fw%3Ard@rabbit.internal:5671/%2F?heartbeat=10&frameMax=131072",
  );
  assert.is(describeBroker(options), "amqps://rabbit.internal:5671/%2F");
  assert.not.match(describeBroker(options), /p%40ss|p@ss/);
});

t("mq settings override registration", async () => {
  const registered = {
    host: "rabbitmq",
    port: 5672,
    vhost: "/",
    use_ssl: false,
    user: "opencti",
    pass: "platform-secret",
  };

  const kept = await resolveAmqpConnection(registered, {});
  const overridden = await resolveAmqpConnection(registered, {
    host: "127.0.0.1",
    port: 15672,
    vhost: "octi",
    user: "connector",
    pass: "mine",
  });

  assert.equal(
    [kept.host, kept.port, kept.vhost, kept.username, kept.password],
    ["rabbitmq", 5672, "/", "opencti", "platform-secret"],
  );
  assert.is(kept.tls, undefined);
  assert.equal(
    [
      overridden.host,
      overridden.port,
      overridden.vhost,
      overridden.username,
      overridden.password,
    ],
    ["127.0.0.1", 15672, "octi", "connector", "mine"],
  );
});

t("tls options read when ssl on", async () => {
  const directory = await Deno.makeTempDir();
  const caPath = `${directory}/ca.pem`;
  await Deno.writeTextFile(
    caPath,
    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
  );

  try {
    const options = await resolveAmqpConnection({
      host: "rabbitmq",
      port: 5671,
      vhost: "/",
      use_ssl: false,
      user: "u",
      pass: "p",
    }, { use_ssl: true, use_ssl_ca: caPath });

    assert.ok(options.useSsl);
    assert.match(options.tls?.ca ?? "", /BEGIN CERTIFICATE/);
    assert.is(options.tls?.rejectUnauthorized, true);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
});

t.run();
