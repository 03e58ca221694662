/**
 * Sends each page as one bundle through the `stixBundlePush` mutation, for
 * `CONNECTOR_QUEUE_PROTOCOL=api` on hosts that cannot reach the platform's
 * RabbitMQ. The platform publishes the whole bundle to the push queue, and
 * its worker splits it and adds the work's expectations itself. So in this
 * mode the connector must not call `addExpectations`: the work would then
 * wait for twice as many reports and never complete.
 *
 * A page counts as delivered when the mutation returns true.
 */
import type { Logger } from "../log/logger.ts";
import { type Clock, systemClock } from "../runtime/clock.ts";
import { PlatformHttpError, PlatformUnreachableError } from "./errors.ts";
import { pythonJsonDumps } from "./message.ts";
import type { PlatformApi } from "./platform_api.ts";
import { backoffMs, type RetryPolicy } from "./amqp_publisher.ts";

export interface ApiPusherOptions {
  api: Pick<PlatformApi, "pushBundle">;
  connectorId: string;
  logger: Logger;
  clock?: Clock;
  retry?: Partial<RetryPolicy>;
}

export interface PushOptions {
  workId?: string;
  signal?: AbortSignal;
}

export interface ApiPusher {
  /**
   * Sends the bundle and resolves when the platform accepted it. A bundle
   * without objects is not sent, because the platform rejects it. Retries
   * an unreachable platform and HTTP 429 and 5xx responses; rejects with
   * `ApiPushError` when the platform returns false, and with the last error
   * after `maxAttempts` failed attempts.
   */
  pushBundle(
    bundle: { objects: readonly unknown[] },
    options?: PushOptions,
  ): Promise<{ objects: number }>;
}

/** `stixBundlePush` returned false: the platform did not queue the bundle. */
export class ApiPushError extends Error {
  constructor(readonly workId: string | undefined, objects: number) {
    super(
      `OpenCTI did not accept the bundle of ${objects} objects${
        workId === undefined ? "" : ` for work ${workId}`
      } (stixBundlePush returned false); check the platform logs, then run again`,
    );
    this.name = "ApiPushError";
  }
}

const DEFAULT_RETRY: RetryPolicy = {
  initialDelayMs: 1_000,
  maxDelayMs: 30_000,
  maxAttempts: 5,
};

/** Creates the pusher, which keeps no connection of its own. */
export function createApiPusher(options: ApiPusherOptions): ApiPusher {
  const clock = options.clock ?? systemClock;
  const retry = { ...DEFAULT_RETRY, ...options.retry };

  return {
    async pushBundle(bundle, pushOptions = {}) {
      const objects = bundle.objects.length;
      if (objects === 0) return { objects: 0 };

      const text = pythonJsonDumps(bundle);
      for (let attempt = 1;; attempt++) {
        pushOptions.signal?.throwIfAborted();
        try {
          const accepted = await options.api.pushBundle(
            options.connectorId,
            text,
            pushOptions.workId,
            pushOptions.signal,
          );
          if (!accepted) throw new ApiPushError(pushOptions.workId, objects);

          options.logger.debug("Bundle accepted by stixBundlePush", {
            objects,
            work_id: pushOptions.workId,
          });
          return { objects };
        } catch (error) {
          if (!isTransient(error) || attempt >= retry.maxAttempts) throw error;

          options.logger.warn(
            "Sending the bundle to OpenCTI failed, retrying",
            {
              error: error instanceof Error ? error.message : String(error),
              attempt,
              max_attempts: retry.maxAttempts,
              delay_ms: backoffMs(retry, attempt),
            },
          );
          await clock.sleep(backoffMs(retry, attempt), pushOptions.signal);
        }
      }
    },
  };
}

/**
 * Failures that a later attempt can fix: the network and busy servers. A
 * request that timed out may still have reached the platform, so a retry
 * can queue the bundle twice; OpenCTI upserts the objects, and the worker
 * adds and reports the second copy's expectations alike.
 */
function isTransient(error: unknown): boolean {
  if (error instanceof PlatformUnreachableError) return true;
  if (!(error instanceof PlatformHttpError)) return false;
  return error.httpStatus === 429 || error.httpStatus >= 500;
}
