/**
 * The platform stand-in's side of RabbitMQ: the exchanges, queues and
 * bindings OpenCTI declares at registration, publishing to a push queue,
 * and reading a queue's message count. It connects on first use, so a test
 * that registers nothing needs no broker.
 */
import { type AMQPChannel, AMQPClient } from "@cloudamqp/amqp-client";

/** The queue names OpenCTI derives from a connector id and a queue prefix. */
export interface ConnectorQueues {
  listen: string;
  listen_routing: string;
  listen_exchange: string;
  push: string;
  push_routing: string;
  push_exchange: string;
  dead_letter_routing: string;
}

/**
 * Returns the names for a connector. OpenCTI writes a configured prefix `X`
 * as `X_` in front of each name, and `""` when none is set.
 */
export function connectorQueues(
  connectorId: string,
  queuePrefix = "",
): ConnectorQueues {
  const prefix = queuePrefix === "" ? "" : `${queuePrefix}_`;
  return {
    listen: `${prefix}listen_${connectorId}`,
    listen_routing: `${prefix}listen_routing_${connectorId}`,
    listen_exchange: `${prefix}amqp.connector.exchange`,
    push: `${prefix}push_${connectorId}`,
    push_routing: `${prefix}push_routing_${connectorId}`,
    push_exchange: `${prefix}amqp.worker.exchange`,
    dead_letter_routing: `${prefix}listen_routing_too-large-bundle`,
  };
}

export class StandinBroker {
  #client: AMQPClient | undefined;
  #channel: AMQPChannel | undefined;
  #declared = new Set<string>();

  constructor(readonly amqpUrl: string) {}

  async #open(): Promise<AMQPChannel> {
    if (this.#channel !== undefined && !this.#channel.closed) {
      return this.#channel;
    }
    if (this.#client === undefined || this.#client.closed) {
      this.#client = new AMQPClient(this.amqpUrl);
      await this.#client.connect();
    }
    this.#channel = await this.#client.channel();
    await this.#channel.confirmSelect();
    return this.#channel;
  }

  /**
   * Declares what OpenCTI's `registerConnectorQueues` declares: two durable
   * direct exchanges, the durable classic queues `listen_<id>` and
   * `push_<id>`, and their bindings. Declaring again is harmless.
   */
  async declareConnectorQueues(queues: ConnectorQueues): Promise<void> {
    const channel = await this.#open();
    const arguments_ = { "x-queue-type": "classic" };

    await channel.exchangeDeclare(queues.listen_exchange, "direct", {
      durable: true,
    });
    await channel.exchangeDeclare(queues.push_exchange, "direct", {
      durable: true,
    });
    await channel.queueDeclare(queues.listen, { durable: true }, arguments_);
    await channel.queueDeclare(queues.push, { durable: true }, arguments_);
    await channel.queueBind(
      queues.listen,
      queues.listen_exchange,
      queues.listen_routing,
    );
    await channel.queueBind(
      queues.push,
      queues.push_exchange,
      queues.push_routing,
    );
    this.#declared.add(queues.listen);
    this.#declared.add(queues.push);
  }

  /** Publishes one persistent message and waits for the broker's confirm. */
  async publish(
    exchange: string,
    routingKey: string,
    body: string,
  ): Promise<void> {
    const channel = await this.#open();
    await channel.basicPublish(exchange, routingKey, body, {
      deliveryMode: 2,
      contentEncoding: "utf-8",
    });
  }

  /** Returns the number of ready messages in a queue. */
  async messageCount(queue: string): Promise<number> {
    const channel = await this.#open();
    const { messageCount } = await channel.queueDeclare(queue, {
      passive: true,
    });
    return messageCount;
  }

  /** Removes every message from a queue, as a UI state reset does. */
  async purge(queue: string): Promise<void> {
    const channel = await this.#open();
    await channel.queuePurge(queue);
  }

  /**
   * Closes the connection. With `deleteQueues`, first deletes the queues this
   * stand-in declared (never the shared exchanges).
   */
  async close(deleteQueues: boolean): Promise<void> {
    if (this.#client === undefined || this.#client.closed) return;

    if (deleteQueues && this.#declared.size > 0) {
      const channel = await this.#open();
      for (const queue of this.#declared) await channel.queueDelete(queue);
    }
    await this.#client.close();
  }
}
