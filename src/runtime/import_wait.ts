/**
 * Waits for the platform to import what the connector queued, before the
 * withdrawal handler looks up the reports of withdrawn threats: a report
 * sent earlier in the same run may still be a message in the push queue.
 *
 * The wait ends when the connector's push queue contains no message, as
 * `connector { connector_queue_details }` reports it.
 * NOTE: OpenCTI fills those details from RabbitMQ's management API and
 * reports 0 when it cannot reach it, so then there is no wait at all.
 */
import type { Logger } from "../log/logger.ts";
import type { PlatformApi } from "../opencti/platform_api.ts";
import type { Clock } from "./clock.ts";

export interface ImportWaitOptions {
  api: Pick<PlatformApi, "fetchQueueDetails">;
  connectorId: string;
  clock: Clock;
  logger: Logger;
  /** Time between two reads of the queue, in milliseconds. */
  pollMs?: number;
  /** Maximum wait, in milliseconds; the lookups then go ahead anyway. */
  maxWaitMs?: number;
}

const DEFAULT_POLL_MS = 2_000;
const DEFAULT_MAX_WAIT_MS = 5 * 60_000;

/**
 * Returns the `waitForImports` function of the withdrawal handler. The
 * function throws the abort reason when the signal aborts, and the error of
 * a failed queue read.
 */
export function waitForEmptyPushQueue(
  options: ImportWaitOptions,
): (signal?: AbortSignal) => Promise<void> {
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const maxWaitMs = options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  const { clock, logger } = options;

  return async (signal) => {
    const started = clock.now();
    while (true) {
      signal?.throwIfAborted();
      const details = await options.api.fetchQueueDetails(
        options.connectorId,
        signal,
      );
      const waiting = details?.messagesNumber ?? 0;
      if (waiting === 0) return;

      const waitedMs = clock.now() - started;
      if (waitedMs >= maxWaitMs) {
        logger.warn(
          "Push queue still has messages; looking up withdrawn threats anyway",
          { messages: waiting, waited_ms: waitedMs },
        );
        return;
      }
      logger.debug("Waiting for the platform to import queued messages", {
        messages: waiting,
      });
      await clock.sleep(pollMs, signal);
    }
  };
}
