/**
 * Writes each page's bundle as a JSON file, named and wrapped as pycti 6.9's
 * `send_stix2_bundle` does with `CONNECTOR_SEND_TO_DIRECTORY`, so tools
 * that read a Python connector's output directory read ours too.
 *
 * A file is named `<connector name, lower-cased, spaces as _>-<local time
 * YYYYmmdd-HHMMSS>-<epoch seconds with fraction>.json`, written as
 * `<name>.tmp` and then renamed, so a reader never sees a partial file. It
 * contains a `DIRECTORY_BUNDLE` wrapper with the whole, unsplit bundle.
 * Before each write, when the retention is above 0 days, every `*.json`
 * file in the directory older than the retention is deleted, whichever
 * connector wrote it.
 */
import { join } from "node:path";
import type { Settings } from "../config/settings.ts";
import type { Logger } from "../log/logger.ts";
import { STIX_NAMESPACE, uuidv5 } from "../stix/ids.ts";
import { pythonJsonDumps } from "./message.ts";

/** The `connector` block of the wrapper. */
export interface DirectoryConnector {
  id: string;
  name: string;
  type: string;
  /** The configured scope as one comma-separated string, as pycti writes it. */
  scope: string;
  auto: boolean;
  validate_before_import: boolean;
}

/** The file content, with its keys in pycti's order. */
export interface DirectoryBundle {
  bundle_type: "DIRECTORY_BUNDLE";
  /** `connector_user_id` from registration; null without a platform. */
  applicant_id: string | null;
  connector: DirectoryConnector;
  entities_types: string[] | null;
  bundle: unknown;
  update: boolean;
}

export interface DirectoryOutputOptions {
  /** `CONNECTOR_SEND_TO_DIRECTORY_PATH`; created when missing. */
  directory: string;
  /** `CONNECTOR_SEND_TO_DIRECTORY_RETENTION` in days; 0 keeps every file. */
  retentionDays: number;
  connector: DirectoryConnector;
  applicantId: string | null;
  logger: Logger;
  /** Current time in epoch milliseconds, with a fraction. */
  now?: () => number;
}

export interface WriteOptions {
  entitiesTypes?: string[] | null;
  update?: boolean;
}

export interface DirectoryOutput {
  /**
   * Applies the retention, then writes the bundle and returns the path of
   * the new file. Throws when the directory cannot be read or written.
   */
  write(bundle: unknown, options?: WriteOptions): Promise<string>;
}

const SECONDS_PER_DAY = 86_400;

/**
 * Returns the connector id to use without a platform: the UUIDv5 of the
 * connector name in OpenCTI's namespace, so files keep one id across runs.
 */
export function directoryModeConnectorId(connectorName: string): string {
  return uuidv5(STIX_NAMESPACE, connectorName);
}

/** Builds the wrapper's `connector` block from the settings. */
export function directoryConnector(
  connector: Settings["connector"],
  connectorId: string,
): DirectoryConnector {
  return {
    id: connectorId,
    name: connector.name,
    type: connector.type,
    scope: connector.scope.join(","),
    auto: false,
    validate_before_import: false,
  };
}

/**
 * Returns the file name pycti gives a bundle written at `epochMs`. The time
 * is the process's local time, as Python's `time.strftime` uses it. Path
 * separators in the name become `_`, which pycti does not do, so a name
 * cannot write outside the directory.
 */
export function bundleFileName(connectorName: string, epochMs: number): string {
  const prefix = connectorName.toLowerCase().replaceAll(" ", "_")
    .replaceAll(/[/\\]/g, "_");
  return `${prefix}-${localStamp(new Date(epochMs))}-${
    pythonFloat(epochMs / 1000)
  }.json`;
}

/** `time.strftime("%Y%m%d-%H%M%S")` in local time. */
function localStamp(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, "0");
  const day = `${date.getFullYear()}${pad(date.getMonth() + 1)}${
    pad(date.getDate())
  }`;
  const time = `${pad(date.getHours())}${pad(date.getMinutes())}${
    pad(date.getSeconds())
  }`;
  return `${day}-${time}`;
}

/**
 * Python's `str(float)` for a positive time in seconds: the shortest text
 * that reads back as the same number, with `.0` for whole numbers.
 */
function pythonFloat(value: number): string {
  const text = String(value);
  return Number.isInteger(value) ? `${text}.0` : text;
}

/** Creates the output; it keeps no open file between writes. */
export function createDirectoryOutput(
  options: DirectoryOutputOptions,
): DirectoryOutput {
  const now = options.now ?? (() => performance.timeOrigin + performance.now());
  const logger = options.logger;

  return {
    async write(bundle, writeOptions = {}) {
      await Deno.mkdir(options.directory, { recursive: true });
      const nowMs = now();
      if (options.retentionDays > 0) {
        await deleteExpiredFiles(
          options.directory,
          options.retentionDays,
          nowMs,
          logger,
        );
      }

      const wrapper: DirectoryBundle = {
        bundle_type: "DIRECTORY_BUNDLE",
        applicant_id: options.applicantId,
        connector: options.connector,
        entities_types: writeOptions.entitiesTypes ?? null,
        bundle,
        update: writeOptions.update ?? false,
      };
      const name = bundleFileName(options.connector.name, nowMs);
      const path = join(options.directory, name);
      await writeFileAtomically(path, pythonJsonDumps(wrapper));

      logger.info("Bundle written to directory", {
        file: path,
        objects: countObjects(bundle),
      });
      return path;
    },
  };
}

function countObjects(bundle: unknown): number | undefined {
  const objects = (bundle as { objects?: unknown } | null)?.objects;
  return Array.isArray(objects) ? objects.length : undefined;
}

/**
 * Deletes the regular `*.json` files whose modification time is older than
 * `retentionDays` before `nowMs`, and returns their paths. A file that
 * disappears meanwhile is skipped.
 */
export async function deleteExpiredFiles(
  directory: string,
  retentionDays: number,
  nowMs: number,
  logger: Logger,
): Promise<string[]> {
  const cutoffMs = nowMs - retentionDays * SECONDS_PER_DAY * 1000;
  const deleted: string[] = [];

  for await (const entry of Deno.readDir(directory)) {
    if (!entry.name.endsWith(".json")) continue;

    const path = join(directory, entry.name);
    try {
      const info = await Deno.stat(path);
      const modifiedMs = info.mtime?.getTime();
      if (!info.isFile || modifiedMs === undefined || modifiedMs >= cutoffMs) {
        continue;
      }
      await Deno.remove(path);
      deleted.push(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }

  if (deleted.length > 0) {
    logger.info("Deleted bundle files older than the retention", {
      directory,
      files: deleted.length,
      retention_days: retentionDays,
    });
  }
  return deleted;
}

/**
 * Writes `text` to `<path>.tmp`, flushes it to disk and renames it to
 * `path`, so `path` contains either its old content or the whole new text.
 * The temporary file is removed when a step fails.
 */
export async function writeFileAtomically(
  path: string,
  text: string,
): Promise<void> {
  const temporary = `${path}.tmp`;
  try {
    const file = await Deno.open(temporary, {
      write: true,
      create: true,
      truncate: true,
    });
    try {
      await writeAll(file, new TextEncoder().encode(text));
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw error;
  }
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < bytes.length) {
    offset += await file.write(bytes.subarray(offset));
  }
}
