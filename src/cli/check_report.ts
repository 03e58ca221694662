/**
 * The results of `check` and the lines it prints. Each check prints one line:
 *
 *     ok    threathq   credentials accepted by https://… (GET feed/, 123 ms)
 *     FAIL  opencti    token rejected (HTTP 401) — fix: check OPENCTI_TOKEN
 *     skip  rabbitmq   not used: CONNECTOR_QUEUE_PROTOCOL is api
 *
 * Columns: the status (`ok`, `FAIL` or `skip`) padded to 6 characters, the
 * check name padded to 11, then the message, then ` — fix: ` and the fix for
 * a failure that has one. Lines that start with spaces carry details of the
 * line above, such as each invalid setting. The last line counts the results.
 */

export type CheckName =
  | "settings"
  | "threathq"
  | "opencti"
  | "rabbitmq"
  | "directory";

export type CheckStatus = "ok" | "fail" | "skip";

export interface CheckResult {
  name: CheckName;
  status: CheckStatus;
  message: string;
  /** The change that fixes a failure, for the operator. */
  fix?: string;
  /** Lines printed indented under the result line. */
  details?: readonly string[];
}

const STATUS_LABEL: Record<CheckStatus, string> = {
  ok: "ok",
  fail: "FAIL",
  skip: "skip",
};

const STATUS_WIDTH = 6;
const NAME_WIDTH = 11;

/** Indentation of detail lines: under the message column. */
export const DETAIL_INDENT = " ".repeat(STATUS_WIDTH + NAME_WIDTH);

export function passed(name: CheckName, message: string): CheckResult {
  return { name, status: "ok", message };
}

export function failed(
  name: CheckName,
  message: string,
  fix?: string,
): CheckResult {
  return { name, status: "fail", message, fix };
}

export function skipped(name: CheckName, message: string): CheckResult {
  return { name, status: "skip", message };
}

/** Formats one result as its line and detail lines, each ending in `\n`. */
export function formatResult(result: CheckResult): string {
  const fix = result.fix === undefined ? "" : ` — fix: ${result.fix}`;
  const line = STATUS_LABEL[result.status].padEnd(STATUS_WIDTH) +
    result.name.padEnd(NAME_WIDTH) + result.message + fix;
  const details = (result.details ?? []).map((detail) =>
    DETAIL_INDENT + detail.trimStart()
  );
  return [line, ...details].map((text) => text + "\n").join("");
}

/** Formats the closing line, such as `5 checks: 3 ok, 1 failed, 1 skipped`. */
export function formatSummary(results: readonly CheckResult[]): string {
  const count = (status: CheckStatus) =>
    results.filter((result) => result.status === status).length;
  return `${results.length} checks: ${count("ok")} ok, ${
    count("fail")
  } failed, ${count("skip")} skipped\n`;
}

export { redactSecrets } from "../log/redact.ts";

/**
 * Returns the failed result for an error whose message ends with its own
 * advice after the last `; `, such as `TlsSettingError`, with that advice
 * as the fix.
 */
export function failedWithAdvice(name: CheckName, error: Error): CheckResult {
  const split = error.message.lastIndexOf("; ");
  if (split < 0) return failed(name, error.message);
  return failed(
    name,
    error.message.slice(0, split),
    error.message.slice(split + 2),
  );
}

/** Returns the message of an error, or the value as text. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
