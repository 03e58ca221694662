/**
 * The `directory` check: proves that the bundle directory is writable by
 * creating and removing an empty probe file in it. A directory that does not
 * exist yet passes when its nearest existing parent is writable, because
 * the connector creates it on the first write. In directory-only mode it
 * also reads the state file, which the first run would fail on.
 */
import { dirname, resolve } from "node:path";
import type { Settings } from "../config/settings.ts";
import type { Logger } from "../log/logger.ts";
import { createFileStateStore, StateFileError } from "../opencti/file_state.ts";
import {
  type CheckResult,
  errorText,
  failed,
  passed,
  skipped,
} from "./check_report.ts";

/** Creates a file in a directory and returns its path. */
export type CreateProbeFile = (directory: string) => Promise<string>;

export interface DirectoryCheckOptions {
  settings: Settings["connector"];
  /** The working directory, which a relative path is resolved against. */
  cwd: string;
  logger: Logger;
  /** Replaces the probe file creation, for tests. */
  createProbeFile?: CreateProbeFile;
}

/** The probe's name starts with a dot and does not end in `.json`, so bundle readers and the retention skip it. */
const PROBE_PREFIX = ".threathq-connector-check-";

const PATH_FIX =
  "set CONNECTOR_SEND_TO_DIRECTORY_PATH to a writable directory, or give the connector's user write access to this one";

const createProbeFile: CreateProbeFile = (directory) =>
  Deno.makeTempFile({ dir: directory, prefix: PROBE_PREFIX });

/** Checks the bundle directory and, in directory-only mode, its state file. */
export async function checkDirectory(
  options: DirectoryCheckOptions,
): Promise<CheckResult> {
  const { settings } = options;
  if (!settings.send_to_directory) {
    return skipped(
      "directory",
      "not used: CONNECTOR_SEND_TO_DIRECTORY is false",
    );
  }
  if (settings.send_to_directory_path === undefined) {
    return failed(
      "directory",
      "CONNECTOR_SEND_TO_DIRECTORY_PATH is not set",
      PATH_FIX,
    );
  }

  const directory = resolve(options.cwd, settings.send_to_directory_path);
  const existing = await nearestExisting(directory);
  if (existing.error !== undefined) {
    return failed("directory", existing.error, PATH_FIX);
  }

  const probeProblem = await probe(existing.path, options);
  if (probeProblem !== undefined) {
    return failed("directory", probeProblem, PATH_FIX);
  }

  const where = existing.path === directory
    ? `${directory} is writable`
    : `${directory} does not exist yet; the connector creates it in ${existing.path}, which is writable`;
  if (settings.send_to_queue) return passed("directory", where);

  return await checkStateFile(directory, where, options.logger);
}

/**
 * Returns the directory itself when it exists, else its nearest existing
 * parent, or an error when that is not a directory. A component that is a
 * file ends the walk there, because `stat` below it fails with ENOTDIR.
 */
async function nearestExisting(
  directory: string,
): Promise<{ path: string; error?: string }> {
  let path = directory;
  while (true) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (error) {
      const parent = dirname(path);
      const missing = error instanceof Deno.errors.NotFound ||
        error instanceof Deno.errors.NotADirectory;
      if (missing && parent !== path) {
        path = parent;
        continue;
      }
      return { path, error: `cannot read ${path}: ${errorText(error)}` };
    }
    if (info.isDirectory) return { path };
    return { path, error: `${path} is not a directory` };
  }
}

async function probe(
  directory: string,
  options: DirectoryCheckOptions,
): Promise<string | undefined> {
  const create = options.createProbeFile ?? createProbeFile;
  let path: string;
  try {
    path = await create(directory);
  } catch (error) {
    if (error instanceof Deno.errors.PermissionDenied) {
      return `${directory} is not writable (permission denied)`;
    }
    if (error instanceof Deno.errors.NotCapable) {
      return `${directory} is not writable: the process lacks Deno's write permission for it (--allow-write)`;
    }
    return `cannot create a file in ${directory}: ${errorText(error)}`;
  }

  try {
    await Deno.remove(path);
  } catch (error) {
    options.logger.warn("Could not remove the check's probe file", {
      file: path,
      error: errorText(error),
    });
  }
  return undefined;
}

async function checkStateFile(
  directory: string,
  where: string,
  logger: Logger,
): Promise<CheckResult> {
  const store = createFileStateStore({ directory, logger });
  try {
    const state = await store.read();
    const note = state === undefined
      ? "no saved state yet, so the first run starts at COFENSE_THREATHQ_IMPORT_START_DATE"
      : `the state file ${store.path} is valid`;
    return passed("directory", `${where}; ${note}`);
  } catch (error) {
    if (error instanceof StateFileError) {
      return failed(
        "directory",
        `the state file ${store.path} is invalid (${stateFileDetail(error)})`,
        "fix its JSON, or delete it to start again from COFENSE_THREATHQ_IMPORT_START_DATE",
      );
    }
    return failed(
      "directory",
      `cannot read the state file ${store.path}: ${errorText(error)}`,
      PATH_FIX,
    );
  }
}

/** Returns the reason inside a StateFileError's message, such as `not JSON: …`. */
function stateFileDetail(error: StateFileError): string {
  const start = error.message.indexOf("(");
  const end = error.message.lastIndexOf("); ");
  if (start < 0 || end <= start) return error.message;
  return error.message.slice(start + 1, end);
}
