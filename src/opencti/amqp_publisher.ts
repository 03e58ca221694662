/**
 * Publishes pages of STIX objects to OpenCTI's push queue: one persistent
 * message per object, in the splitter's order, with publisher confirms.
 *
 * A page counts as delivered only when the broker has confirmed every one
 * of its messages. When the broker rejects a message (nack) or the
 * connection drops, the publisher waits with exponential backoff, reopens
 * the connection when needed and publishes the unconfirmed messages again.
 * Messages that were in flight when a connection dropped may therefore
 * arrive twice, which OpenCTI's upserts absorb; none are lost.
 */
import type { Logger } from "../log/logger.ts";
import { type Clock, systemClock } from "../runtime/clock.ts";
import type { ConfirmChannel, ConnectChannel } from "./amqp_connection.ts";
import { TlsVerificationError } from "./errors.ts";
import { pythonJsonDumps, queueMessage } from "./message.ts";
import { splitObjects, type SplitResult } from "./splitter.ts";

/** The destination of a page and the fields its messages carry. */
export interface PublishTarget {
  /** The work the messages count toward; the worker drops them without it. */
  workId?: string;
  /** `connector_user_id` from registration. */
  applicantId: string | null;
  /** `config.push_exchange`, normally `amqp.worker.exchange`. */
  exchange: string;
  /** `config.push_routing`, normally `push_routing_<connector id>`. */
  routingKey: string;
  entitiesTypes?: string[];
  update?: boolean;
  draftId?: string | null;
  /** Stops the retries; the page then rejects with the abort reason. */
  signal?: AbortSignal;
}

export interface RetryPolicy {
  /** Wait after the first failure, in milliseconds. */
  initialDelayMs: number;
  /** Maximum wait between two attempts, in milliseconds. */
  maxDelayMs: number;
  /**
   * Failed attempts in a row, without any message confirmed in between,
   * after which the page is given up.
   */
  maxAttempts: number;
}

export interface AmqpPublisherOptions {
  /** Opens a new connection and confirm channel. */
  connect: ConnectChannel;
  logger: Logger;
  clock?: Clock;
  retry?: Partial<RetryPolicy>;
  /** Unconfirmed messages allowed on the wire at once. */
  maxInFlight?: number;
  /**
   * Maximum time in milliseconds without any confirm or nack while
   * messages are unconfirmed. After it, the channel is dropped and the
   * unconfirmed messages are published again on a new connection.
   */
  confirmTimeoutMs?: number;
}

export interface AmqpPublisher {
  /** Splits the objects and publishes them; see `publishSplit`. */
  publishPage(
    objects: readonly object[],
    target: PublishTarget,
  ): Promise<{ messages: number }>;
  /**
   * Publishes the bundles of a split, `action_sequence` 1 to N. Resolves
   * when every message is confirmed. Rejects with `AmqpPublishError` after
   * `maxAttempts` failed attempts in a row, or at once when the broker
   * rejects the credentials, the virtual host or the exchange. A broker
   * certificate that fails verification rejects at once with the
   * connection's `TlsVerificationError`, which names the fix.
   */
  publishSplit(
    split: SplitResult,
    target: PublishTarget,
  ): Promise<{ messages: number }>;
  /** Closes the connection; a later publish opens a new one. */
  close(): Promise<void>;
}

/** The broker sent no confirm or nack for `timeoutMs` while messages waited. */
export class ConfirmTimeoutError extends Error {
  constructor(readonly timeoutMs: number, readonly waiting: number) {
    super(
      `RabbitMQ confirmed none of ${waiting} messages within ${timeoutMs} ms`,
    );
    this.name = "ConfirmTimeoutError";
  }
}

/** A page that could not be delivered; the messages are not all confirmed. */
export class AmqpPublishError extends Error {
  constructor(
    readonly unconfirmed: number,
    readonly total: number,
    readonly attempts: number,
    cause: unknown,
  ) {
    super(
      `Publishing to RabbitMQ failed: ${unconfirmed} of ${total} messages of the page are unconfirmed after ${attempts} attempts (${
        errorMessage(cause)
      }); check that the broker is reachable and accepts messages`,
      { cause },
    );
    this.name = "AmqpPublishError";
  }
}

const DEFAULT_RETRY: RetryPolicy = {
  initialDelayMs: 1_000,
  maxDelayMs: 30_000,
  maxAttempts: 10,
};

const DEFAULT_MAX_IN_FLIGHT = 256;

/**
 * Six 10 s heartbeats. Besides a stalled broker, it ends the wait for a
 * confirm that never comes. `@cloudamqp/amqp-client` 4.1.1 reads the
 * `multiple` bit of basic.nack only when `requeue` is clear, but RabbitMQ
 * sets both. So the earlier messages that a multiple nack covers stay
 * unconfirmed in the client forever.
 */
const DEFAULT_CONFIRM_TIMEOUT_MS = 60_000;

/**
 * AMQP reply codes that retrying cannot fix: 403 ACCESS_REFUSED, 404
 * NOT_FOUND (such as a missing exchange), 530 NOT_ALLOWED (such as a
 * virtual host the user may not open) and 312 NO_ROUTE (a message no queue
 * took, such as after the push queue was deleted). The platform declares a
 * deleted push queue again at the next ping, so the next run can deliver.
 */
const PERMANENT_REPLY =
  /\((312|403|404|530)\)|ACCESS_REFUSED|NOT_FOUND|NO_ROUTE/;

/** Creates a publisher that keeps one connection open between pages. */
export function createAmqpPublisher(
  options: AmqpPublisherOptions,
): AmqpPublisher {
  const clock = options.clock ?? systemClock;
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
  const confirmTimeoutMs = options.confirmTimeoutMs ??
    DEFAULT_CONFIRM_TIMEOUT_MS;
  const logger = options.logger;
  let channel: ConfirmChannel | undefined;

  async function openChannel(): Promise<ConfirmChannel> {
    if (channel !== undefined && !channel.closed) return channel;
    if (channel !== undefined) await channel.close();

    channel = undefined;
    channel = await options.connect();
    logger.debug("Opened the RabbitMQ channel");
    return channel;
  }

  async function publishSplit(
    split: SplitResult,
    target: PublishTarget,
  ): Promise<{ messages: number }> {
    const bodies = split.bundles.map((bundle, index) =>
      pythonJsonDumps(queueMessage(bundle, {
        applicantId: target.applicantId,
        sequence: index + 1,
        workId: target.workId,
        entitiesTypes: target.entitiesTypes,
        update: target.update,
        draftId: target.draftId,
      }))
    );
    const unconfirmed = new Set(bodies.keys());
    let failures = 0;

    while (unconfirmed.size > 0) {
      target.signal?.throwIfAborted();
      const before = unconfirmed.size;
      try {
        const open = await openChannel();
        await publishUnconfirmed(
          open,
          target,
          bodies,
          unconfirmed,
          { maxInFlight, confirmTimeoutMs },
        );
      } catch (error) {
        if (unconfirmed.size < before) failures = 0;
        failures += 1;
        await handleFailure(error, failures, unconfirmed.size, bodies.length);
        await clock.sleep(backoffMs(retry, failures), target.signal);
      }
    }

    logger.debug("Page confirmed by RabbitMQ", { messages: bodies.length });
    return { messages: bodies.length };
  }

  async function handleFailure(
    error: unknown,
    failures: number,
    unconfirmedCount: number,
    total: number,
  ): Promise<void> {
    const stalled = error instanceof ConfirmTimeoutError;
    const lost = channel === undefined || channel.closed || stalled;
    if (lost && channel !== undefined) {
      // A stalled broker may never respond to the close, so it is not awaited.
      const closing = channel.close();
      if (!stalled) await closing;
      channel = undefined;
    }

    const attributes = {
      error: errorMessage(error),
      unconfirmed: unconfirmedCount,
      messages: total,
      attempt: failures,
      max_attempts: retry.maxAttempts,
    };
    if (error instanceof TlsVerificationError) {
      logger.error("RabbitMQ certificate verification failed", attributes);
      throw error;
    }
    if (PERMANENT_REPLY.test(errorMessage(error))) {
      logger.error(
        "RabbitMQ rejected the credentials, the virtual host or the exchange, or routed the message to no queue",
        attributes,
      );
      throw new AmqpPublishError(unconfirmedCount, total, failures, error);
    }
    if (failures >= retry.maxAttempts) {
      logger.error("Giving up publishing the page to RabbitMQ", attributes);
      throw new AmqpPublishError(unconfirmedCount, total, failures, error);
    }

    const message = stalled
      ? "RabbitMQ confirms timed out, reconnecting"
      : lost
      ? "Lost the RabbitMQ connection, reconnecting"
      : "Unable to send bundle, retry...";
    logger.warn(message, {
      ...attributes,
      delay_ms: backoffMs(retry, failures),
    });
  }

  return {
    publishSplit,

    publishPage(objects, target) {
      return publishSplit(splitObjects(objects), target);
    },

    async close() {
      const open = channel;
      channel = undefined;
      await open?.close();
    },
  };
}

/**
 * Publishes the unconfirmed messages in sequence order, at most
 * `maxInFlight` at a time, and removes each one that the broker confirms.
 * After the first failure it publishes no more, waits for the messages
 * already sent to settle, and throws that failure. Throws
 * `ConfirmTimeoutError` when no message settles for `confirmTimeoutMs`.
 */
async function publishUnconfirmed(
  channel: ConfirmChannel,
  target: PublishTarget,
  bodies: string[],
  unconfirmed: Set<number>,
  limits: { maxInFlight: number; confirmTimeoutMs: number },
): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  const watchdog = confirmWatchdog(limits.confirmTimeoutMs, inFlight);
  let failure: { error: unknown } | undefined;

  try {
    for (const index of [...unconfirmed].sort((a, b) => a - b)) {
      if (failure !== undefined) break;

      const confirmation: Promise<void> = channel
        .publish(target.exchange, target.routingKey, bodies[index])
        .then(
          () => void unconfirmed.delete(index),
          (error) => void (failure ??= { error }),
        )
        .finally(() => {
          inFlight.delete(confirmation);
          watchdog.rearm();
        });
      inFlight.add(confirmation);
      if (inFlight.size >= limits.maxInFlight) {
        await Promise.race([Promise.race(inFlight), watchdog.expired]);
      }
    }

    await Promise.race([Promise.all(inFlight), watchdog.expired]);
  } finally {
    watchdog.stop();
  }
  if (failure !== undefined) throw failure.error;
}

/**
 * Creates a timer that rejects `expired` with `ConfirmTimeoutError` when
 * nothing re-arms it for `timeoutMs`. It runs on real time, not on the injected
 * clock, because it guards against a broker that stopped responding.
 */
function confirmWatchdog(timeoutMs: number, inFlight: Set<unknown>) {
  let reject: (error: Error) => void = () => {};
  const expired = new Promise<never>((_, fail) => reject = fail);
  expired.catch(() => {});
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  const rearm = () => {
    clearTimeout(timer);
    if (stopped) return;

    timer = setTimeout(
      () => reject(new ConfirmTimeoutError(timeoutMs, inFlight.size)),
      timeoutMs,
    );
  };
  rearm();
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
  };
  return { expired, rearm, stop };
}

/**
 * Returns the wait after the given number of failures in a row:
 * `initialDelayMs`, doubled for each further failure, at most `maxDelayMs`.
 */
export function backoffMs(retry: RetryPolicy, failures: number): number {
  const exponent = Math.min(failures - 1, 30);
  return Math.min(retry.initialDelayMs * 2 ** exponent, retry.maxDelayMs);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
