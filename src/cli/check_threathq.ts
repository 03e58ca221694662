/**
 * The `threathq` check: one authenticated `GET feed/`, the cheapest request
 * that proves the base URL, the network path and the token. It is sent once,
 * without retries, within the check's time limit.
 */
import type { Settings } from "../config/settings.ts";
import type { Logger } from "../log/logger.ts";
import { describeFetchFailure, isCertificateError } from "../opencti/tls.ts";
import { createThreatHqApi } from "../threathq/api.ts";
import {
  ThreatHqApiError,
  ThreatHqAuthError,
  ThreatHqClientError,
  ThreatHqInvalidResponseError,
  ThreatHqNetworkError,
  ThreatHqNotFoundError,
  ThreatHqRateLimitError,
  ThreatHqServerError,
  ThreatHqTimeoutError,
} from "../threathq/errors.ts";
import {
  createThreatHqClient,
  normaliseBaseUrl,
} from "../threathq/http_client.ts";
import { type CheckResult, errorText, failed, passed } from "./check_report.ts";

export interface ThreatHqCheckOptions {
  settings: Settings["cofense_threathq"];
  logger: Logger;
  timeoutMs: number;
  /** Aborted when the command is interrupted. */
  signal: AbortSignal;
}

const CREDENTIALS_FIX =
  "check COFENSE_THREATHQ_TOKEN_USER and COFENSE_THREATHQ_TOKEN_PASSWORD (the API token name and password from ThreatHQ)";

const URL_FIX =
  "check COFENSE_THREATHQ_API_BASE_URL (default https://www.threathq.com/apiv1/)";

/** Sends `GET feed/` and returns the check's result. */
export async function checkThreatHq(
  options: ThreatHqCheckOptions,
): Promise<CheckResult> {
  const { settings } = options;
  const baseUrl = normaliseBaseUrl(settings.api_base_url);
  if (
    settings.token_user === undefined || settings.token_password === undefined
  ) {
    return failed(
      "threathq",
      "the ThreatHQ token is not set",
      CREDENTIALS_FIX,
    );
  }

  const client = createThreatHqClient({
    baseUrl,
    user: settings.token_user,
    password: settings.token_password,
    ratePerSecond: settings.api_leaky_bucket_rate,
    burstCapacity: settings.api_leaky_bucket_capacity,
    retries: 0,
    maxBackoffMs: 0,
    timeoutMs: options.timeoutMs,
    logger: options.logger,
  });
  const started = performance.now();
  try {
    await createThreatHqApi(client).feed(options.signal);
  } catch (error) {
    if (options.signal.aborted) throw error;
    return describeFailure(error, baseUrl);
  }

  const elapsedMs = Math.round(performance.now() - started);
  return passed(
    "threathq",
    `credentials accepted by ${baseUrl} (GET feed/, ${elapsedMs} ms)`,
  );
}

function describeFailure(error: unknown, baseUrl: string): CheckResult {
  if (error instanceof ThreatHqAuthError) {
    return failed(
      "threathq",
      `credentials rejected (HTTP ${error.status} on GET ${error.path})`,
      CREDENTIALS_FIX,
    );
  }
  if (error instanceof ThreatHqTimeoutError) {
    return failed(
      "threathq",
      `no response from ${baseUrl} within ${error.timeoutMs} ms`,
      `${URL_FIX}, the proxy variables (HTTPS_PROXY, NO_PROXY) and the firewall`,
    );
  }
  if (error instanceof ThreatHqNetworkError) {
    return describeNetworkFailure(error, baseUrl);
  }
  if (error instanceof ThreatHqNotFoundError) {
    return failed(
      "threathq",
      `GET ${error.path} returned HTTP 404, so ${baseUrl} is not the ThreatHQ API`,
      URL_FIX,
    );
  }
  if (error instanceof ThreatHqRateLimitError) {
    return failed(
      "threathq",
      `GET ${error.path} was rate limited (HTTP 429)`,
      "wait a minute and check again; lower COFENSE_THREATHQ_API_LEAKY_BUCKET_RATE if other clients share the token",
    );
  }
  if (error instanceof ThreatHqServerError) {
    return failed(
      "threathq",
      `GET ${error.path} returned HTTP ${error.status}, a server error`,
      "ThreatHQ or a proxy in between is failing; check again later",
    );
  }
  if (
    error instanceof ThreatHqClientError ||
    error instanceof ThreatHqApiError ||
    error instanceof ThreatHqInvalidResponseError
  ) {
    return failed("threathq", error.message, URL_FIX);
  }
  return failed("threathq", `GET feed/ failed: ${errorText(error)}`, URL_FIX);
}

function describeNetworkFailure(
  error: ThreatHqNetworkError,
  baseUrl: string,
): CheckResult {
  const reason = describeFetchFailure(error.cause);
  if (isCertificateError(error)) {
    return failed(
      "threathq",
      `TLS certificate of ${baseUrl} failed verification (${reason})`,
      "if a TLS-inspecting proxy or a private CA signs it, trust that CA with DENO_CERT=<path to CA file>",
    );
  }
  return failed(
    "threathq",
    `${baseUrl} is unreachable (${reason})`,
    `${URL_FIX} and the proxy variables (HTTPS_PROXY, NO_PROXY)`,
  );
}
