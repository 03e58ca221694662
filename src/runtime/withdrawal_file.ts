/**
 * The withdrawal file of directory-only mode: one JSON Lines file per page
 * with deletions, written beside the bundle files.
 *
 * Its name is the bundle name with `.withdrawals.jsonl` in place of
 * `.json`, for example
 * `cofense_threathq-20240115-103000-1705314600.123.withdrawals.jsonl`. The
 * name does not end in `.json`, so tools that read `*.json` files as
 * bundles skip it, and the bundle retention (which deletes `*.json` files)
 * does not apply. The same retention applies to these files separately:
 * before each write, withdrawal files older than the retention are deleted.
 */
import { join } from "node:path";
import type { Logger } from "../log/logger.ts";
import {
  bundleFileName,
  writeFileAtomically,
} from "../opencti/directory_output.ts";

/** The end of every withdrawal file name. */
export const WITHDRAWAL_FILE_SUFFIX = ".withdrawals.jsonl";

const DAY_MS = 86_400_000;

/** One line of the file: a threat Cofense withdrew. */
export interface WithdrawalRecord {
  threat_type: string;
  threat_id: number;
  /** The changelog entry's time, ISO 8601 in UTC. */
  occurred_on: string;
  /** The name the report id is computed from, with `published`. */
  stable_report_name: string;
  /**
   * The report id when this process mapped the threat earlier, else null:
   * the id needs the threat's `published`, which a deletion lacks.
   */
  report_id: string | null;
}

export interface WithdrawalFileOptions {
  /** `CONNECTOR_SEND_TO_DIRECTORY_PATH`, created when missing. */
  directory: string;
  /** `CONNECTOR_SEND_TO_DIRECTORY_RETENTION` in days. 0 keeps every file. */
  retentionDays: number;
  connectorName: string;
  logger: Logger;
  /** Current time in epoch milliseconds. */
  now?: () => number;
}

/** Returns the file name for withdrawals written at `epochMs`. */
export function withdrawalFileName(
  connectorName: string,
  epochMs: number,
): string {
  return bundleFileName(connectorName, epochMs).replace(
    /\.json$/,
    WITHDRAWAL_FILE_SUFFIX,
  );
}

/**
 * Applies the retention to withdrawal files, then writes the records as one
 * JSON object a line and returns the file's path.
 */
export async function writeWithdrawalFile(
  options: WithdrawalFileOptions,
  records: readonly WithdrawalRecord[],
): Promise<string> {
  const nowMs = (options.now ?? Date.now)();
  await Deno.mkdir(options.directory, { recursive: true });
  if (options.retentionDays > 0) {
    await deleteExpiredWithdrawalFiles(
      options.directory,
      options.retentionDays,
      nowMs,
      options.logger,
    );
  }

  const path = join(
    options.directory,
    withdrawalFileName(options.connectorName, nowMs),
  );
  const text = records.map((record) => JSON.stringify(record) + "\n").join("");
  await writeFileAtomically(path, text);

  options.logger.info("Withdrawn threats written to directory", {
    file: path,
    threats: records.length,
  });
  return path;
}

/**
 * Deletes the regular withdrawal files whose modification time is older
 * than `retentionDays` before `nowMs`, and returns their paths.
 */
export async function deleteExpiredWithdrawalFiles(
  directory: string,
  retentionDays: number,
  nowMs: number,
  logger: Logger,
): Promise<string[]> {
  const cutoffMs = nowMs - retentionDays * DAY_MS;
  const deleted: string[] = [];

  for await (const entry of Deno.readDir(directory)) {
    if (!entry.isFile || !entry.name.endsWith(WITHDRAWAL_FILE_SUFFIX)) {
      continue;
    }
    const path = join(directory, entry.name);
    try {
      const modifiedMs = (await Deno.stat(path)).mtime?.getTime();
      if (modifiedMs === undefined || modifiedMs >= cutoffMs) continue;
      await Deno.remove(path);
      deleted.push(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }

  if (deleted.length > 0) {
    logger.info("Deleted withdrawal files older than the retention", {
      directory,
      files: deleted.length,
      retention_days: retentionDays,
    });
  }
  return deleted;
}
