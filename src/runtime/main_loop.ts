/**
 * The connector's one loop: check the platform's push queue, run, wait
 * `duration_period` from the end of the run, repeat. A run that fails is
 * logged and retried at the next period. Only errors that end the process,
 * such as rejected credentials, throw out of the loop.
 */
import type { Logger } from "../log/logger.ts";
import type { Clock } from "./clock.ts";

/** The result of one run, as the loop needs it. */
export interface RunOutcome {
  ok: boolean;
}

export interface LoopHooks {
  /** Syncs once; throws only for errors that must end the process. */
  runOnce(signal: AbortSignal): Promise<RunOutcome>;
  /** Size of the platform's push queue in MB; undefined when not known. */
  queueSizeMb(): Promise<number | undefined>;
  /** Reports buffering and the next run time to the platform's ping. */
  onSchedule(info: {
    buffering: boolean;
    queueSizeMb: number;
    nextRunMs?: number;
    lastRunMs?: number;
  }): void;
  /** Called while the loop waits, at least every `tickMs`, for liveness. */
  onTick?(): void;
  /** Sends the final state before the process exits. */
  finish(): Promise<void>;
}

export interface LoopOptions {
  periodMs: number;
  runAndTerminate: boolean;
  queueThresholdMb: number;
  /** How often a buffering connector checks the queue again. */
  bufferingCheckMs?: number;
  /** Maximum wait between two liveness ticks, in milliseconds. */
  tickMs?: number;
}

const DEFAULT_BUFFERING_CHECK_MS = 60_000;
const DEFAULT_TICK_MS = 15_000;

/**
 * Runs until `signal` aborts, or once in run-and-terminate mode (also when
 * the period is zero). Returns the exit status: 0, or 1 when a single run
 * failed.
 */
export async function runMainLoop(
  hooks: LoopHooks,
  options: LoopOptions,
  dependencies: { clock: Clock; logger: Logger; signal: AbortSignal },
): Promise<number> {
  const { clock, logger, signal } = dependencies;
  const once = options.runAndTerminate || options.periodMs === 0;
  const tickMs = options.tickMs ?? DEFAULT_TICK_MS;
  let lastRunMs: number | undefined;

  try {
    while (!signal.aborted) {
      const queueSizeMb = await hooks.queueSizeMb() ?? 0;
      if (queueSizeMb >= options.queueThresholdMb) {
        logger.info(
          "Connector will not run until the queue messages size is reduced under queue threshold",
          {
            queue_messages_size_mb: queueSizeMb,
            threshold_mb: options.queueThresholdMb,
          },
        );
        hooks.onSchedule({ buffering: true, queueSizeMb, lastRunMs });
        const wait = options.bufferingCheckMs ?? DEFAULT_BUFFERING_CHECK_MS;
        await waitTicking(wait, tickMs, dependencies, hooks);
        continue;
      }

      hooks.onSchedule({ buffering: false, queueSizeMb, lastRunMs });
      const outcome = await hooks.runOnce(signal);
      lastRunMs = clock.now();
      if (once) return outcome.ok ? 0 : 1;
      if (signal.aborted) {
        hooks.onSchedule({ buffering: false, queueSizeMb, lastRunMs });
        break;
      }

      const nextRunMs = lastRunMs + options.periodMs;
      hooks.onSchedule({ buffering: false, queueSizeMb, nextRunMs, lastRunMs });
      logger.info("Schedule next run of connector", {
        next_run_datetime: new Date(nextRunMs).toISOString(),
      });
      await waitTicking(options.periodMs, tickMs, dependencies, hooks);
    }
    return 0;
  } finally {
    await hooks.finish();
  }
}

async function waitTicking(
  totalMs: number,
  tickMs: number,
  dependencies: { clock: Clock; signal: AbortSignal },
  hooks: LoopHooks,
): Promise<void> {
  const { clock, signal } = dependencies;
  const end = clock.now() + totalMs;
  while (!signal.aborted && clock.now() < end) {
    hooks.onTick?.();
    await clock.sleep(Math.min(tickMs, end - clock.now()), signal);
  }
  hooks.onTick?.();
}
