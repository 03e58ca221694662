/**
 * Builds, from the settings, where a run's objects and state go: the
 * platform's push queue (RabbitMQ or `stixBundlePush`), the bundle
 * directory, and the state on the platform or in the directory's state
 * file. Withdrawn threats are handled on the platform or in the directory
 * as well.
 */
import { resolve } from "node:path";
import type { Settings } from "../config/settings.ts";
import type { ConnectorMetrics } from "../health/connector_metrics.ts";
import type { RuntimeStatus } from "../health/runtime_status.ts";
import type { Logger } from "../log/logger.ts";
import { amqpChannelFactory } from "../opencti/amqp_connection.ts";
import { createAmqpPublisher } from "../opencti/amqp_publisher.ts";
import { createApiPusher } from "../opencti/api_push.ts";
import {
  createDirectoryOutput,
  directoryConnector,
  directoryModeConnectorId,
  type DirectoryOutput,
} from "../opencti/directory_output.ts";
import { createFileStateStore } from "../opencti/file_state.ts";
import { AUTHOR_ID } from "../mapper/author.ts";
import { observeBroker, probeBroker } from "./broker_status.ts";
import type { Clock } from "./clock.ts";
import { waitForEmptyPushQueue } from "./import_wait.ts";
import {
  type AmqpQueue,
  type ApiQueue,
  createPageDelivery,
  type PageDelivery,
} from "./page_delivery.ts";
import type { PlatformConnection } from "./platform_connection.ts";
import {
  fileStateSource,
  platformStateSource,
  type RunStateSource,
} from "./run_state.ts";
import {
  createWithdrawalHandler,
  type WithdrawalHandler,
} from "./withdrawals.ts";

export interface DestinationOptions {
  settings: Settings;
  /** Set when `send_to_queue` is true. */
  platform?: PlatformConnection;
  /** Resolves a relative `send_to_directory_path`. */
  cwd: string;
  status: RuntimeStatus;
  metrics: ConnectorMetrics;
  logger: Logger;
  clock: Clock;
}

export interface Destinations {
  delivery: PageDelivery;
  states: RunStateSource;
  withdrawals: WithdrawalHandler;
  /** The id written in bundle files and logs. */
  connectorId: string;
}

/**
 * Returns the connector id: the registered one, else `CONNECTOR_ID`, else
 * (directory-only mode) the UUIDv5 of the connector name, which stays the
 * same across runs.
 */
export function effectiveConnectorId(
  settings: Settings,
  platform?: PlatformConnection,
): string {
  return platform?.helper.connectorId ?? settings.connector.id ??
    directoryModeConnectorId(settings.connector.name);
}

/** Builds the destinations; with RabbitMQ, it probes the broker once. */
export async function createDestinations(
  options: DestinationOptions,
): Promise<Destinations> {
  const { settings, platform, logger } = options;
  const connectorId = effectiveConnectorId(settings, platform);
  const directoryPath = settings.connector.send_to_directory_path === undefined
    ? undefined
    : resolve(options.cwd, settings.connector.send_to_directory_path);

  let directory: DirectoryOutput | undefined;
  if (settings.connector.send_to_directory && directoryPath !== undefined) {
    directory = createDirectoryOutput({
      directory: directoryPath,
      retentionDays: settings.connector.send_to_directory_retention,
      connector: directoryConnector(settings.connector, connectorId),
      applicantId: platform?.helper.connectorUserId ?? null,
      logger,
    });
  }

  const queue = platform === undefined
    ? undefined
    : await createQueue(options, platform);
  const delivery = createPageDelivery({
    queue,
    directory,
    metrics: options.metrics,
    logger,
    clock: options.clock,
  });
  return {
    delivery,
    states: stateSource(platform, directoryPath, logger),
    withdrawals: withdrawalHandler(
      options,
      directory === undefined ? undefined : directoryPath,
    ),
    connectorId,
  };
}

/**
 * Creates the withdrawal handler: on the platform when the objects go
 * there, and as files in the bundle directory when one is written.
 */
function withdrawalHandler(
  options: DestinationOptions,
  directoryPath: string | undefined,
): WithdrawalHandler {
  const { platform, settings } = options;
  return createWithdrawalHandler({
    platform: platform?.api,
    directory: directoryPath === undefined ? undefined : {
      directory: directoryPath,
      retentionDays: settings.connector.send_to_directory_retention,
    },
    logger: options.logger,
    authorId: AUTHOR_ID,
    connectorName: settings.connector.name,
    waitForImports: platform === undefined ? undefined : waitForEmptyPushQueue({
      api: platform.api,
      connectorId: platform.helper.connectorId,
      clock: options.clock,
      logger: options.logger,
    }),
  });
}

function stateSource(
  platform: PlatformConnection | undefined,
  directoryPath: string | undefined,
  logger: Logger,
): RunStateSource {
  if (platform !== undefined) return platformStateSource(platform.helper);
  if (directoryPath === undefined) {
    throw new TypeError(
      "Directory-only mode needs CONNECTOR_SEND_TO_DIRECTORY_PATH for its state file; set it",
    );
  }
  return fileStateSource(
    createFileStateStore({ directory: directoryPath, logger }),
  );
}

async function createQueue(
  options: DestinationOptions,
  platform: PlatformConnection,
): Promise<AmqpQueue | ApiQueue> {
  const { helper } = platform;
  if (options.settings.connector.queue_protocol === "api") {
    return {
      protocol: "api",
      pusher: createApiPusher({
        api: platform.api,
        connectorId: helper.connectorId,
        logger: options.logger,
        clock: options.clock,
      }),
    };
  }

  const connect = observeBroker(
    amqpChannelFactory(helper.amqpConnection),
    options.status,
  );
  await probeBroker(connect, helper.amqpConnection, options.logger);
  return {
    protocol: "amqp",
    publisher: createAmqpPublisher({
      connect,
      logger: options.logger,
      clock: options.clock,
    }),
    applicantId: helper.connectorUserId,
    exchange: helper.registration.pushExchange,
    routingKey: helper.registration.pushRoutingKey,
  };
}
