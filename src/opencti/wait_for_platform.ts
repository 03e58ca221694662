/**
 * The start-up health check: `about { version }`, retried with capped
 * exponential backoff while the platform boots. pycti exits on the first
 * failure and relies on a container restart. This connector keeps waiting
 * and logs every attempt, because an OpenCTI platform can take minutes to
 * start. Only a rejected token, a TLS problem or the abort signal end the
 * wait.
 */
import { CredentialsRejectedError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import type { Clock } from "../runtime/clock.ts";
import { TlsVerificationError } from "./errors.ts";
import type { PlatformApi } from "./platform_api.ts";
import { TlsSettingError } from "./tls.ts";

export interface WaitForPlatformOptions {
  logger: Logger;
  clock: Clock;
  signal?: AbortSignal;
  /** Wait after the first failure, in milliseconds. */
  initialDelayMs?: number;
  /** Maximum wait between two attempts, in milliseconds. */
  maxDelayMs?: number;
}

const DEFAULT_INITIAL_DELAY_MS = 1_000;
const DEFAULT_MAX_DELAY_MS = 30_000;

/** The oldest platform whose protocol this connector follows. */
const OLDEST_SUPPORTED = [6, 8] as const;

/** Errors that no amount of waiting fixes. */
function isPermanent(error: unknown): boolean {
  return error instanceof CredentialsRejectedError ||
    error instanceof TlsVerificationError ||
    error instanceof TlsSettingError;
}

/** Returns the delay before attempt `attempt + 1`, doubling up to the cap. */
export function backoffDelay(
  attempt: number,
  initialDelayMs: number,
  maxDelayMs: number,
): number {
  return Math.min(maxDelayMs, initialDelayMs * 2 ** (attempt - 1));
}

/**
 * Calls `about { version }` until it succeeds and returns the version.
 * Throws the abort reason when the signal aborts, and rethrows a rejected
 * token or a TLS failure at once.
 */
export async function waitForPlatform(
  api: PlatformApi,
  options: WaitForPlatformOptions,
): Promise<string> {
  const { logger, clock, signal } = options;
  const initialDelayMs = options.initialDelayMs ?? DEFAULT_INITIAL_DELAY_MS;
  const maxDelayMs = options.maxDelayMs ?? DEFAULT_MAX_DELAY_MS;

  for (let attempt = 1;; attempt++) {
    throwIfAborted(signal);
    logger.info("Health check (platform version)...", { attempt });

    try {
      const version = await api.fetchVersion(signal);
      logger.info("OpenCTI platform is reachable", { version, attempt });
      warnIfUnsupported(version, logger);
      return version;
    } catch (error) {
      throwIfAborted(signal);
      if (isPermanent(error)) throw error;

      const delayMs = backoffDelay(attempt, initialDelayMs, maxDelayMs);
      logger.warn("OpenCTI platform is not reachable yet, retrying", {
        attempt,
        delay_ms: delayMs,
        reason: error instanceof Error ? error.message : String(error),
      });
      await clock.sleep(delayMs, signal);
    }
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw signal.reason ?? new DOMException("Aborted", "AbortError");
  }
}

function warnIfUnsupported(version: string, logger: Logger): void {
  const match = /^(\d+)\.(\d+)/.exec(version);
  if (match === null) return;

  const major = Number(match[1]);
  const minor = Number(match[2]);
  const [oldestMajor, oldestMinor] = OLDEST_SUPPORTED;
  if (major > oldestMajor || (major === oldestMajor && minor >= oldestMinor)) {
    return;
  }
  logger.warn("OpenCTI platform is older than 6.8, which is not supported", {
    version,
  });
}
