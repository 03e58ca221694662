/**
 * The state a run starts from and saves its progress to: on the OpenCTI
 * platform through the connector's pings, or, in directory-only mode, in a
 * state file in the output directory.
 */
import type {
  ConnectorHelper,
  RunState,
  SaveOutcome,
} from "../opencti/connector_helper.ts";
import type { FileStateStore } from "../opencti/file_state.ts";

/** One run's state: the state it starts from, its saves, its reset signal. */
export type RunStateView = RunState & {
  /** Stops tracking the run; call once when the run is over. */
  end(): void;
};

export interface RunStateSource {
  /** The place the state is kept, for logs: `platform` or the file path. */
  readonly location: string;
  /** Reads the current state and starts a run's view of it. */
  begin(): Promise<RunStateView>;
}

/**
 * Keeps the state on the platform. Each run starts with a ping, so that a
 * reset made in the platform's UI while the connector waited is seen before
 * the run reads its state, and not only at the next periodic ping.
 */
export function platformStateSource(helper: ConnectorHelper): RunStateSource {
  return {
    location: "platform",
    async begin() {
      await helper.ping();
      return helper.beginRun();
    },
  };
}

/** A signal that never aborts: nothing resets a state file behind a run. */
const NEVER_RESET = new AbortController().signal;

/**
 * Keeps the state in a file. Writes are atomic, and a write that fails
 * throws, which fails the run before it reads further.
 */
export function fileStateSource(store: FileStateStore): RunStateSource {
  return {
    location: store.path,
    async begin() {
      const initialState = await store.read();
      return {
        initialState,
        resetSignal: NEVER_RESET,
        async save(state): Promise<SaveOutcome> {
          await store.write(state);
          return "saved";
        },
        end() {},
      };
    },
  };
}
