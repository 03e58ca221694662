/**
 * The errors that end the process instead of failing one run, and the exit
 * status of each. Waiting for the next period cannot fix them: the user has
 * to change a credential, a setting or a certificate first.
 */
import { ConfigError } from "../config/load.ts";
import {
  CredentialsRejectedError,
  EXIT_CREDENTIALS_REJECTED,
  EXIT_INVALID_SETTINGS,
  EXIT_RUN_FAILED,
  UsageError,
} from "../errors.ts";
import { HealthServerError } from "../health/server.ts";
import { TlsVerificationError } from "../opencti/errors.ts";
import { TlsSettingError } from "../opencti/tls.ts";

/**
 * Returns whether the error must end the process: rejected credentials,
 * invalid settings, an unusable CA or key file, a certificate that fails
 * verification, or a health server address that cannot be listened on.
 */
export function isFatalError(error: unknown): boolean {
  return exitStatusOf(error) !== EXIT_RUN_FAILED;
}

/**
 * Returns the exit status for an error that ended the process: 3 for
 * rejected credentials, 2 for a settings problem (a certificate that fails
 * verification included, because the fix is a CA setting), 1 otherwise.
 */
export function exitStatusOf(error: unknown): number {
  if (error instanceof CredentialsRejectedError) {
    return EXIT_CREDENTIALS_REJECTED;
  }
  const settingsProblem = error instanceof ConfigError ||
    error instanceof UsageError ||
    error instanceof TlsSettingError ||
    error instanceof TlsVerificationError ||
    error instanceof HealthServerError;
  return settingsProblem ? EXIT_INVALID_SETTINGS : EXIT_RUN_FAILED;
}

/** Returns whether the error is the abort of `signal`, not a failure. */
export function isAbortOf(error: unknown, signal: AbortSignal): boolean {
  if (!signal.aborted) return false;
  if (error === signal.reason) return true;
  return error instanceof DOMException && error.name === "AbortError";
}
