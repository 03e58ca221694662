/**
 * Delivers the merged objects of one sync result to every destination the
 * settings turn on, in pycti's order: the bundle file first
 * (`send_to_directory`), then the platform (`send_to_queue`) over RabbitMQ
 * or the `stixBundlePush` mutation. `deliver` resolves only when each
 * destination has confirmed the objects, so the caller may then save the
 * state.
 */
import type { ConnectorMetrics } from "../health/connector_metrics.ts";
import type { Logger } from "../log/logger.ts";
import type { AmqpPublisher } from "../opencti/amqp_publisher.ts";
import type { ApiPusher } from "../opencti/api_push.ts";
import type { DirectoryOutput } from "../opencti/directory_output.ts";
import type { RunWork } from "../opencti/run_work.ts";
import { splitObjects } from "../opencti/splitter.ts";
import { makeBundle } from "../stix/bundle.ts";
import type { StixObject } from "../stix/types.ts";
import type { Clock } from "./clock.ts";

/** The platform's push queue over RabbitMQ, as registration names it. */
export interface AmqpQueue {
  protocol: "amqp";
  publisher: AmqpPublisher;
  /** `connector_user_id` from registration. */
  applicantId: string | null;
  exchange: string;
  routingKey: string;
}

/** The platform's `stixBundlePush` mutation. */
export interface ApiQueue {
  protocol: "api";
  pusher: ApiPusher;
}

export interface PageDeliveryOptions {
  /** Set when `send_to_queue` is true. */
  queue?: AmqpQueue | ApiQueue;
  /** Set when `send_to_directory` is true. */
  directory?: DirectoryOutput;
  metrics: ConnectorMetrics;
  logger: Logger;
  clock: Clock;
  /**
   * How long a publish may still finish after the signal aborts before the
   * connection is closed under it, in milliseconds.
   */
  abortGraceMs?: number;
}

export interface DeliverOptions {
  /** The run's work; required when the objects go to the platform. */
  work?: RunWork;
  signal: AbortSignal;
}

/** The counts of one delivery. */
export interface DeliveryResult {
  /** Objects sent to the platform, or written when only a directory is on. */
  objects: number;
  /** Messages published to RabbitMQ, or bundles pushed over the API. */
  messages: number;
  /** The bundle file written, if any. */
  file?: string;
  /** Objects by STIX type, counted as `objects` is. */
  types: Record<string, number>;
}

export interface PageDelivery {
  deliver(
    objects: readonly StixObject[],
    options: DeliverOptions,
  ): Promise<DeliveryResult>;
  /** Closes the RabbitMQ connection; a later delivery opens a new one. */
  close(): Promise<void>;
}

const DEFAULT_ABORT_GRACE_MS = 2_000;

function countTypes(types: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of types) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

/** Creates the delivery, which keeps at most one RabbitMQ connection open. */
export function createPageDelivery(options: PageDeliveryOptions): PageDelivery {
  const { queue, directory, metrics, logger } = options;
  const graceMs = options.abortGraceMs ?? DEFAULT_ABORT_GRACE_MS;

  async function toAmqp(
    target: AmqpQueue,
    objects: readonly StixObject[],
    deliverOptions: DeliverOptions,
  ): Promise<Omit<DeliveryResult, "file">> {
    const split = splitObjects(objects);
    if (split.incompatible.length > 0) {
      logger.warn("Objects left out by the splitter", {
        incompatible: split.incompatible.length,
        ids: split.incompatible.slice(0, 5).map((object) => object.id),
      });
    }
    if (split.bundles.length === 0) {
      return { objects: 0, messages: 0, types: {} };
    }

    const workId = await requireWork(deliverOptions).addExpectations(
      split.expectations,
    );
    const publish = target.publisher.publishSplit(split, {
      workId,
      applicantId: target.applicantId,
      exchange: target.exchange,
      routingKey: target.routingKey,
      signal: deliverOptions.signal,
    });
    await closeAfterGraceOnAbort(publish, target.publisher, deliverOptions);

    const types = split.bundles.map((bundle) => bundle.objects[0].type);
    for (const type of types) metrics.recordBundleSent([type]);
    return {
      objects: split.expectations,
      messages: split.bundles.length,
      types: countTypes(types),
    };
  }

  /**
   * Waits for the publish. When the signal aborts, the publish gets
   * `graceMs` to finish, which confirms normally need. Then the connection
   * is closed, which rejects the confirms still awaited, so a broker that
   * stopped responding cannot hold up a shutdown.
   */
  async function closeAfterGraceOnAbort(
    publish: Promise<unknown>,
    publisher: AmqpPublisher,
    deliverOptions: DeliverOptions,
  ): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = () => {
      timer = setTimeout(() => void publisher.close(), graceMs);
    };
    deliverOptions.signal.addEventListener("abort", onAbort, { once: true });
    try {
      await publish;
    } finally {
      deliverOptions.signal.removeEventListener("abort", onAbort);
      clearTimeout(timer);
    }
  }

  async function toApi(
    target: ApiQueue,
    objects: readonly StixObject[],
    deliverOptions: DeliverOptions,
  ): Promise<Omit<DeliveryResult, "file">> {
    const work = requireWork(deliverOptions);
    const workId = await work.start();
    const pushed = await target.pusher.pushBundle(makeBundle(objects), {
      workId,
      signal: deliverOptions.signal,
    });
    work.recordPushedBundle();

    const types = objects.map((object) => object.type);
    metrics.recordBundleSent(types);
    return { objects: pushed.objects, messages: 1, types: countTypes(types) };
  }

  return {
    async deliver(objects, deliverOptions) {
      const empty = { objects: 0, messages: 0, types: {} };
      if (objects.length === 0) return empty;

      const file = directory === undefined
        ? undefined
        : await directory.write(makeBundle(objects));
      if (queue === undefined) {
        const written = objects.map((object) => object.type);
        metrics.recordObjects(written);
        return {
          objects: objects.length,
          messages: 0,
          file,
          types: countTypes(written),
        };
      }

      deliverOptions.signal.throwIfAborted();
      const sent = queue.protocol === "amqp"
        ? await toAmqp(queue, objects, deliverOptions)
        : await toApi(queue, objects, deliverOptions);
      return { ...sent, file };
    },

    async close() {
      if (queue?.protocol === "amqp") await queue.publisher.close();
    },
  };
}

function requireWork(options: DeliverOptions): RunWork {
  if (options.work !== undefined) return options.work;
  throw new TypeError(
    "Delivering to the platform needs the run's work; pass DeliverOptions.work",
  );
}
