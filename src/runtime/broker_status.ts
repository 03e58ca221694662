/**
 * Reports the RabbitMQ connection to the health model: `/readyz` shows the
 * broker as connected after a connection opens, and as disconnected, with
 * the reason, when opening fails or a publish finds the channel closed.
 */
import type { RuntimeStatus } from "../health/runtime_status.ts";
import type { Logger } from "../log/logger.ts";
import {
  type AmqpConnectionOptions,
  type ConfirmChannel,
  type ConnectChannel,
  describeBroker,
} from "../opencti/amqp_connection.ts";
import { TlsVerificationError } from "../opencti/errors.ts";

/** Wraps `connect` so that each outcome updates `status`. */
export function observeBroker(
  connect: ConnectChannel,
  status: RuntimeStatus,
): ConnectChannel {
  return async () => {
    let channel: ConfirmChannel;
    try {
      channel = await connect();
    } catch (error) {
      status.brokerDisconnected(error);
      throw error;
    }
    status.brokerConnected();

    return {
      get closed() {
        return channel.closed;
      },
      async publish(exchange, routingKey, body) {
        try {
          await channel.publish(exchange, routingKey, body);
        } catch (error) {
          if (channel.closed) status.brokerDisconnected(error);
          throw error;
        }
      },
      close: () => channel.close(),
    };
  };
}

/**
 * Opens and closes one connection at start-up, so that readiness reflects
 * the broker before the first run publishes. A failure is logged, not
 * thrown, because the publisher retries at each run. Only a certificate
 * that fails verification is thrown, since no retry fixes it.
 */
export async function probeBroker(
  connect: ConnectChannel,
  broker: AmqpConnectionOptions,
  logger: Logger,
): Promise<void> {
  try {
    const channel = await connect();
    await channel.close();
    logger.info("RabbitMQ is reachable", { broker: describeBroker(broker) });
  } catch (error) {
    if (error instanceof TlsVerificationError) throw error;
    logger.warn("RabbitMQ is not reachable yet; each run retries", {
      broker: describeBroker(broker),
      reason: error instanceof Error ? error.message : String(error),
    });
  }
}
