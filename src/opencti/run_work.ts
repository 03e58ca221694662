/**
 * The OpenCTI work of one run. The work is opened on first use, so a run
 * that sends nothing opens none, and a work that was opened but got nothing
 * is deleted at the end instead of being left in progress. Every call
 * carries the work id, never null, and nothing is sent to a work after
 * `toProcessed`, because the platform may already have deleted its counters
 * and workers would drop the messages.
 */
import type { Logger } from "../log/logger.ts";
import type { Clock } from "../runtime/clock.ts";
import type { PlatformApi } from "./platform_api.ts";

/** Returns the work's friendly name, in the Python connector's form. */
export function runWorkName(startedAtMs: number): string {
  return `Cofense ThreatHQ - run @ ${new Date(startedAtMs).toISOString()}`;
}

/** The `toProcessed` message of a run that completed. */
export const FINISHED_WORK_MESSAGE = "Cofense ThreatHQ - Finished work";

/** The `toProcessed` message of a run stopped by a state reset. */
export const STATE_RESET_WORK_MESSAGE =
  "Cofense ThreatHQ - The connector state was reset in OpenCTI; the run stopped at a page boundary without saving its position, and the next run starts from import_start_date";

/** A call on a work that `toProcessed` or a deletion already ended. */
export class WorkFinishedError extends Error {
  constructor(readonly workId: string | undefined, operation: string) {
    super(
      `Cannot ${operation}: work ${
        workId ?? "(never opened)"
      } is already finished; open a new work for a new run`,
    );
    this.name = "WorkFinishedError";
  }
}

export interface RunWorkOptions {
  api: PlatformApi;
  connectorId: string;
  logger: Logger;
  clock: Clock;
  friendlyName: string;
  /** Attempts of `toProcessed` or the deletion before giving up. */
  finishAttempts?: number;
}

const DEFAULT_FINISH_ATTEMPTS = 3;
const FINISH_RETRY_DELAY_MS = 2_000;

type Phase = "idle" | "open" | "finished";

export class RunWork {
  readonly friendlyName: string;
  #options: RunWorkOptions;
  #id: string | undefined;
  #opening: Promise<string> | undefined;
  #phase: Phase = "idle";
  #expectations = 0;
  #pushedBundles = 0;

  constructor(options: RunWorkOptions) {
    this.#options = options;
    this.friendlyName = options.friendlyName;
  }

  /** The work id, once the work is open. */
  get id(): string | undefined {
    return this.#id;
  }

  /** The messages announced with `addExpectations` so far. */
  get expectations(): number {
    return this.#expectations;
  }

  get finished(): boolean {
    return this.#phase === "finished";
  }

  /** Opens the work (`workAdd`) unless it is open, and returns its id. */
  start(): Promise<string> {
    if (this.#phase === "finished") {
      return Promise.reject(new WorkFinishedError(this.#id, "open the work"));
    }
    this.#opening ??= this.#open();
    return this.#opening;
  }

  async #open(): Promise<string> {
    const { api, connectorId, logger } = this.#options;
    logger.info("Initiate work", {
      connector_id: connectorId,
      friendly_name: this.friendlyName,
    });

    try {
      const id = await api.addWork(connectorId, this.friendlyName);
      this.#id = id;
      this.#phase = "open";
      return id;
    } catch (error) {
      this.#opening = undefined;
      throw error;
    }
  }

  /**
   * Announces `count` messages before they are published, opening the work
   * first if needed. Returns the work id to put in those messages.
   */
  async addExpectations(count: number): Promise<string> {
    if (!Number.isInteger(count) || count < 1) {
      throw new RangeError(
        `addExpectations needs a whole number of messages of 1 or more, not ${count}`,
      );
    }
    const id = await this.start();
    if (this.#phase === "finished") {
      throw new WorkFinishedError(id, "add expectations");
    }

    this.#options.logger.info("Update action expectations", {
      work_id: id,
      expectations: count,
    });
    await this.#options.api.addExpectations(id, count);
    this.#expectations += count;
    return id;
  }

  /**
   * Records a bundle sent with `stixBundlePush` under this work. The platform
   * counts its expectations itself, so nothing is sent, but the work is no
   * longer empty and is closed rather than deleted.
   */
  recordPushedBundle(): void {
    if (this.#phase !== "open") {
      throw new WorkFinishedError(this.#id, "record a pushed bundle");
    }
    this.#pushedBundles += 1;
  }

  /**
   * Ends the work. A work that got messages, or that ends in error, goes to
   * `toProcessed` with the message. An open work that got nothing is
   * deleted, and a work never opened needs no call. A second call does
   * nothing.
   */
  async finish(message: string, inError: boolean): Promise<void> {
    const { logger } = this.#options;
    if (this.#phase === "finished") {
      logger.warn("Work already finished; nothing sent", { work_id: this.#id });
      return;
    }
    if (this.#opening !== undefined) await this.#opening.catch(() => {});

    const id = this.#id;
    this.#phase = "finished";
    if (id === undefined) {
      logger.debug("Run sent nothing, so no work was opened");
      return;
    }

    const sentSomething = this.#expectations > 0 || this.#pushedBundles > 0;
    if (!sentSomething && !inError) {
      logger.info("Deleting the work of a run that sent nothing", {
        work_id: id,
      });
      await this.#retry("delete", () => this.#options.api.deleteWork(id));
      return;
    }

    logger.info("Complete work", { work_id: id, in_error: inError });
    await this.#retry(
      "toProcessed",
      () => this.#options.api.markWorkProcessed(id, message, inError),
    );
  }

  /** Deletes the work now; workers then drop its queued messages. */
  async delete(): Promise<void> {
    if (this.#opening !== undefined) await this.#opening.catch(() => {});
    const id = this.#id;
    const wasFinished = this.#phase === "finished";
    this.#phase = "finished";
    if (id === undefined || wasFinished) return;

    await this.#retry("delete", () => this.#options.api.deleteWork(id));
  }

  async #retry(operation: string, call: () => Promise<void>): Promise<void> {
    const { logger, clock } = this.#options;
    const attempts = this.#options.finishAttempts ?? DEFAULT_FINISH_ATTEMPTS;

    for (let attempt = 1;; attempt++) {
      try {
        await call();
        return;
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        if (attempt >= attempts) {
          logger.error("Failed to end the work", {
            work_id: this.#id,
            operation,
            attempts,
            reason,
          });
          throw error;
        }
        logger.warn("Failed to end the work, retrying", {
          work_id: this.#id,
          operation,
          attempt,
          reason,
        });
        await clock.sleep(FINISH_RETRY_DELAY_MS * attempt);
      }
    }
  }
}
