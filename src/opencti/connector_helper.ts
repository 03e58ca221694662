/**
 * The connector's side of the OpenCTI connector protocol: registration, the
 * ping loop, the state and the works of each run.
 *
 * The state is saved only by `pingConnector`, which carries it as a JSON
 * string. Pings go out one at a time, in call order. When a ping returns a
 * state other than the one it sent, the state was reset in the platform's
 * UI (or replaced by another instance). The local state is then cleared, the
 * reset generation moves on, and every run that started before it has its
 * `resetSignal` aborted. A save that a run requested before the reset was
 * seen is dropped when its turn comes, so a reset is never undone by a save
 * that was already under way.
 */
import type { Settings } from "../config/settings.ts";
import type { Logger } from "../log/logger.ts";
import type { Clock } from "../runtime/clock.ts";
import {
  type AmqpConnectionOptions,
  resolveAmqpConnection,
} from "./amqp_connection.ts";
import {
  type ConnectorState,
  decodeState,
  encodeState,
  statesDiffer,
} from "./connector_state.ts";
import type {
  ConnectorInfo,
  PlatformApi,
  Registration,
} from "./platform_api.ts";
import { RunWork, runWorkName } from "./run_work.ts";

/** pycti's interval between two pings. */
export const PING_INTERVAL_MS = 40_000;

export type HelperSettings = {
  connector: Pick<
    Settings["connector"],
    | "id"
    | "name"
    | "type"
    | "scope"
    | "run_and_terminate"
    | "duration_period"
    | "queue_threshold"
  >;
  mq: Settings["mq"];
};

export interface ConnectorHelperOptions {
  api: PlatformApi;
  settings: HelperSettings;
  logger: Logger;
  clock: Clock;
  pingIntervalMs?: number;
}

/** The outcome of a save. */
export type SaveOutcome =
  /** The platform stored the state. */
  | "saved"
  /** The ping failed; the state is kept locally and goes with the next ping. */
  | "pending"
  /** The state was reset in the platform; nothing was saved. */
  | "reset";

/** The details a state reset passes to its listeners. */
export interface StateResetEvent {
  /** The state string the platform returned, such as `""`. */
  returnedState: string | null;
}

/** One run's view of the state: its saves and its reset signal. */
export interface RunState {
  /** Aborted when the state is reset while this run goes on. */
  readonly resetSignal: AbortSignal;
  /** The state when the run started, or undefined for a first run. */
  readonly initialState: ConnectorState | undefined;
  /** Saves the state unless it was reset since this run started. */
  save(state: ConnectorState): Promise<SaveOutcome>;
}

/** The schedule facts each ping reports, as the main loop gives them. */
export interface ScheduleInfo {
  buffering: boolean;
  queueSizeMb: number;
  nextRunMs?: number;
  lastRunMs?: number;
}

/** Formats epoch milliseconds as pycti does: `%Y-%m-%dT%H:%M:%SZ` in UTC. */
export function formatRunDatetime(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 19) + "Z";
}

export class ConnectorHelper {
  readonly connectorId: string;
  readonly registration: Registration;
  /** The broker connection after the `MQ_*` overrides. */
  readonly amqpConnection: AmqpConnectionOptions;

  #api: PlatformApi;
  #logger: Logger;
  #clock: Clock;
  #pingIntervalMs: number;
  #state: string;
  #generation = 0;
  #runControllers = new Set<{ generation: number; abort: AbortController }>();
  #listeners = new Set<(event: StateResetEvent) => void>();
  #pingQueue: Promise<unknown> = Promise.resolve();
  #pingFailing = false;
  #info: ConnectorInfo;

  private constructor(
    options: ConnectorHelperOptions,
    registration: Registration,
    amqpConnection: AmqpConnectionOptions,
  ) {
    const connector = options.settings.connector;
    this.#api = options.api;
    this.#logger = options.logger;
    this.#clock = options.clock;
    this.#pingIntervalMs = options.pingIntervalMs ?? PING_INTERVAL_MS;
    this.connectorId = registration.id;
    this.registration = registration;
    this.amqpConnection = amqpConnection;
    this.#state = encodeState(decodeState(registration.connectorState));
    this.#info = {
      run_and_terminate: connector.run_and_terminate ||
        connector.duration_period === 0,
      buffering: false,
      queue_threshold: connector.queue_threshold,
      queue_messages_size: 0,
      next_run_datetime: null,
      last_run_datetime: null,
    };
  }

  /**
   * Registers the connector and resolves the broker connection with the
   * `MQ_*` overrides. Sends no ping: `runPingLoop` sends the first one.
   */
  static async register(
    options: ConnectorHelperOptions,
    signal?: AbortSignal,
  ): Promise<ConnectorHelper> {
    const connector = options.settings.connector;
    const registration = await options.api.registerConnector({
      id: connector.id ?? missingConnectorId(),
      name: connector.name,
      type: connector.type,
      scope: connector.scope,
      auto: false,
      only_contextual: false,
      playbook_compatible: false,
    }, signal);
    const amqpConnection = await resolveAmqpConnection(
      registration.connection,
      options.settings.mq,
      connector.name,
    );

    options.logger.info("Connector registered with ID", {
      id: registration.id,
      connector_user_id: registration.connectorUserId,
      push_exchange: registration.pushExchange,
      push_routing: registration.pushRoutingKey,
      has_state: decodeState(registration.connectorState) !== undefined,
    });
    return new ConnectorHelper(options, registration, amqpConnection);
  }

  /** The user that owns the token: the `applicant_id` of every message. */
  get connectorUserId(): string {
    return this.registration.connectorUserId;
  }

  /** Returns the local state, or undefined when there is none. */
  getState(): ConnectorState | undefined {
    return decodeState(this.#state);
  }

  /** Returns the `connectorInfo` the next ping sends. */
  get connectorInfo(): ConnectorInfo {
    return { ...this.#info };
  }

  /** Updates the schedule facts that pings report. */
  recordSchedule(info: ScheduleInfo): void {
    this.#info.buffering = info.buffering;
    this.#info.queue_messages_size = info.queueSizeMb;
    if (info.nextRunMs !== undefined) {
      this.#info.next_run_datetime = formatRunDatetime(info.nextRunMs);
    }
    if (info.lastRunMs !== undefined) {
      this.#info.last_run_datetime = formatRunDatetime(info.lastRunMs);
    }
  }

  /** Calls `listener` on each state reset; returns the unsubscribe call. */
  onStateReset(listener: (event: StateResetEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Starts a run's view of the state. Call `end()` when the run is over so
   * the helper stops tracking it.
   */
  beginRun(): RunState & { end(): void } {
    const entry = {
      generation: this.#generation,
      abort: new AbortController(),
    };
    this.#runControllers.add(entry);

    return {
      resetSignal: entry.abort.signal,
      initialState: this.getState(),
      save: (state) => this.#save(state, entry.generation),
      end: () => {
        this.#runControllers.delete(entry);
      },
    };
  }

  /**
   * Sets the state and pings at once. Returns `"reset"` without saving when
   * a reset was seen after this call began, even while the call waited for
   * an earlier ping.
   */
  setAndPing(state: ConnectorState): Promise<SaveOutcome> {
    return this.#save(state, this.#generation);
  }

  /**
   * Pings once with the current state and `connectorInfo`. A failure is
   * logged, not thrown, and the next ping tries again.
   */
  ping(): Promise<void> {
    return this.#enqueue(async () => {
      await this.#pingWith(this.#state);
    });
  }

  /**
   * Pings now and then every `pingIntervalMs` until `signal` aborts. The
   * returned promise resolves when the loop stops.
   */
  async runPingLoop(signal: AbortSignal): Promise<void> {
    this.#logger.info("Starting PingAlive thread", {
      interval_ms: this.#pingIntervalMs,
    });
    while (!signal.aborted) {
      this.#logger.debug("PingAlive running.");
      await this.ping();
      await this.#clock.sleep(this.#pingIntervalMs, signal);
    }
    this.#logger.info("PingAlive stopped");
  }

  /**
   * Returns the push queue size in MB (10^6 bytes) as the platform reports
   * it, or undefined when it cannot be read (logged as a warning).
   */
  async queueSizeMb(signal?: AbortSignal): Promise<number | undefined> {
    try {
      const details = await this.#api.fetchQueueDetails(
        this.connectorId,
        signal,
      );
      if (details === undefined) {
        this.#logger.warn("Connector not found when reading its queue", {
          connector_id: this.connectorId,
        });
        return undefined;
      }
      return details.messagesSize / 1_000_000;
    } catch (error) {
      this.#logger.warn("Failed to read the push queue size", {
        connector_id: this.connectorId,
        reason: error instanceof Error ? error.message : String(error),
      });
      return undefined;
    }
  }

  /**
   * Creates the work of a run that starts now. It is opened on its first
   * `start()` or `addExpectations()`, so a run that sends nothing opens none.
   */
  createRunWork(friendlyName?: string): RunWork {
    return new RunWork({
      api: this.#api,
      connectorId: this.connectorId,
      logger: this.#logger,
      clock: this.#clock,
      friendlyName: friendlyName ?? runWorkName(this.#clock.now()),
    });
  }

  #save(state: ConnectorState, generation: number): Promise<SaveOutcome> {
    return this.#enqueue(async () => {
      if (generation !== this.#generation) {
        this.#logger.warn("State not saved because it was reset meanwhile", {
          connector_id: this.connectorId,
        });
        return "reset";
      }

      this.#state = encodeState(state);
      const result = await this.#pingWith(this.#state);
      if (result === "failed") return "pending";
      return result === "reset" ? "reset" : "saved";
    });
  }

  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const next = this.#pingQueue.then(task);
    this.#pingQueue = next.catch(() => {});
    return next;
  }

  async #pingWith(sent: string): Promise<"ok" | "reset" | "failed"> {
    let returned: string | null;
    try {
      returned = await this.#api.pingConnector(
        this.connectorId,
        sent,
        this.connectorInfo,
      );
    } catch (error) {
      this.#pingFailing = true;
      this.#logger.error("Error pinging the API", {
        connector_id: this.connectorId,
        reason: error instanceof Error ? error.message : String(error),
      });
      return "failed";
    }

    if (this.#pingFailing) {
      this.#pingFailing = false;
      this.#logger.info("API Ping back to normal", {
        connector_id: this.connectorId,
      });
    }
    if (!statesDiffer(sent, returned)) return "ok";

    this.#applyReset(returned);
    return "reset";
  }

  #applyReset(returned: string | null): void {
    this.#state = encodeState(undefined);
    this.#generation += 1;
    this.#logger.warn("Connector state has been remotely reset", {
      connector_id: this.connectorId,
      state: returned,
    });

    for (const entry of this.#runControllers) {
      if (entry.generation < this.#generation) entry.abort.abort();
    }
    for (const listener of this.#listeners) {
      try {
        listener({ returnedState: returned });
      } catch (error) {
        this.#logger.error("State reset listener failed", {
          reason: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }
}

function missingConnectorId(): never {
  throw new Error(
    "CONNECTOR_ID is missing; set it to this connector's UUID to register with OpenCTI",
  );
}
