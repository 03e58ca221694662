/**
 * The RabbitMQ broker for tests: a reachability check, and throw-away
 * exchanges and queues with random names so parallel runs never share one.
 *
 * Outside CI a test file whose broker is unreachable skips its broker tests
 * with a notice. Under `CI=true` an unreachable broker is an error, because
 * CI starts RabbitMQ and a skipped suite would hide a broken setup.
 */
import { AMQPClient } from "@cloudamqp/amqp-client";

/** The broker's address, `127.0.0.1:5672` unless `TEST_AMQP_HOST` is set. */
export const BROKER_HOST = Deno.env.get("TEST_AMQP_HOST") ?? "127.0.0.1";
export const BROKER_PORT = Number(Deno.env.get("TEST_AMQP_PORT") ?? "5672");
export const BROKER_URL = `amqp://guest:guest@${BROKER_HOST}:${BROKER_PORT}/`;

/** Maximum wait for the broker's AMQP handshake, in milliseconds. */
const HANDSHAKE_TIMEOUT_MS = 5_000;

let reachable: Promise<boolean> | undefined;

/**
 * Returns whether the broker accepts an AMQP connection with guest/guest.
 * When it does not: under `CI=true` it throws; otherwise it prints
 * `skipped: ...` once and returns false, so the caller skips its tests.
 */
export function brokerAvailable(): Promise<boolean> {
  reachable ??= probeBroker();
  return reachable;
}

async function probeBroker(): Promise<boolean> {
  const failure = await tryHandshake();
  if (failure === undefined) return true;

  const where = `${BROKER_HOST}:${BROKER_PORT}`;
  if (Deno.env.get("CI") === "true") {
    throw new Error(
      `RabbitMQ is not reachable at ${where} (${failure}); CI must start it before the tests (rabbitmq-server -detached)`,
    );
  }
  console.log(`skipped: RabbitMQ not reachable at ${where} (${failure})`);
  return false;
}

async function tryHandshake(): Promise<string | undefined> {
  const client = new AMQPClient(BROKER_URL);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error("handshake timed out")),
      HANDSHAKE_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([client.connect(), timeout]);
    await client.close();
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    clearTimeout(timer);
  }
}

/** A direct exchange bound to one queue, both named at random. */
export interface TestRoute {
  exchange: string;
  queue: string;
  routingKey: string;
  /** Number of messages ready in the queue. */
  messageCount(): Promise<number>;
  /** Deletes the queue and the exchange. */
  delete(): Promise<void>;
}

/**
 * Declares a non-durable direct exchange and a queue bound to it, named
 * `test.<uuid>`. `queueArguments` go to the queue declaration, such as
 * `x-max-length` to make the broker reject publishes.
 */
export async function declareTestRoute(
  queueArguments: Record<string, unknown> = {},
): Promise<TestRoute> {
  const client = new AMQPClient(BROKER_URL);
  await client.connect();
  const channel = await client.channel();
  const name = `test.${crypto.randomUUID()}`;
  const route = {
    exchange: `${name}.exchange`,
    queue: `${name}.queue`,
    routingKey: `push_routing_${name}`,
  };

  await channel.exchangeDeclare(route.exchange, "direct", { durable: false });
  await channel.queueDeclare(route.queue, { durable: false }, queueArguments);
  await channel.queueBind(route.queue, route.exchange, route.routingKey);

  return {
    ...route,
    async messageCount() {
      const ok = await channel.queueDeclare(route.queue, { passive: true });
      return ok.messageCount;
    },
    async delete() {
      await channel.queueDelete(route.queue);
      await channel.exchangeDelete(route.exchange);
      await client.close();
    },
  };
}
