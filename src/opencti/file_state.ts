/**
 * The connector state in directory-only mode, where there is no platform to
 * keep it: a JSON file in the output directory, written atomically. Its
 * name does not end in `.json`, because the retention deletes `*.json`
 * files there and consumers read every `*.json` file as a bundle.
 */
import { join } from "node:path";
import type { Logger } from "../log/logger.ts";
import type { ConnectorState } from "./connector_state.ts";
import { writeFileAtomically } from "./directory_output.ts";

/** The default name of the state file in the output directory. */
export const STATE_FILE_NAME = ".threathq-connector-state";

/** A state file that exists but does not contain a valid state. */
export class StateFileError extends Error {
  constructor(readonly path: string, detail: string) {
    super(
      `The state file ${path} is invalid (${detail}); fix its JSON, or delete it to start again from COFENSE_THREATHQ_IMPORT_START_DATE`,
    );
    this.name = "StateFileError";
  }
}

export interface FileStateOptions {
  /** The output directory, `CONNECTOR_SEND_TO_DIRECTORY_PATH`. */
  directory: string;
  /** Must not end in `.json`. Default: `STATE_FILE_NAME`. */
  fileName?: string;
  logger: Logger;
}

export interface FileStateStore {
  readonly path: string;
  /**
   * Returns the saved state, or undefined when the file is missing or contains
   * `null` or `{}`. Throws `StateFileError` for other content.
   */
  read(): Promise<ConnectorState | undefined>;
  /** Replaces the file; undefined writes `null`. */
  write(state: ConnectorState | undefined): Promise<void>;
}

/** Creates the store; the directory is created on the first write. */
export function createFileStateStore(
  options: FileStateOptions,
): FileStateStore {
  const fileName = options.fileName ?? STATE_FILE_NAME;
  if (fileName.toLowerCase().endsWith(".json")) {
    throw new TypeError(
      `The state file name ${fileName} ends in .json, so retention would delete it and consumers would read it as a bundle; choose a name without .json`,
    );
  }
  const path = join(options.directory, fileName);

  return {
    path,

    async read() {
      let text: string;
      try {
        text = await Deno.readTextFile(path);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) return undefined;
        throw error;
      }
      const state = parseState(path, text);
      options.logger.debug("Read the state file", { file: path });
      return state;
    },

    async write(state) {
      await Deno.mkdir(options.directory, { recursive: true });
      const empty = state === undefined || Object.keys(state).length === 0;
      await writeFileAtomically(path, empty ? "null" : JSON.stringify(state));
      options.logger.debug("Wrote the state file", { file: path });
    },
  };
}

function parseState(path: string, text: string): ConnectorState | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new StateFileError(path, `not JSON: ${reason}`);
  }

  if (value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new StateFileError(path, "expected a JSON object or null");
  }
  return Object.keys(value).length === 0 ? undefined : value as ConnectorState;
}
