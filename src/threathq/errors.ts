/**
 * Errors of the ThreatHQ client. Each carries the HTTP method, the URL path
 * and the status (when a response arrived), so callers branch on the class
 * instead of matching messages. None carries the token or an
 * `Authorization` header, because the messages reach logs and standard error.
 */
import { CredentialsRejectedError } from "../errors.ts";

/** The target of a failed request, with the status when a response came. */
export interface ThreatHqRequestInfo {
  method: string;
  /** The URL path without the query, such as `/apiv1/threat/updates`. */
  path: string;
  status?: number;
}

/** The settings that hold the ThreatHQ credentials, named in the fix. */
export const THREATHQ_CREDENTIAL_SETTINGS = [
  "COFENSE_THREATHQ_TOKEN_USER",
  "COFENSE_THREATHQ_TOKEN_PASSWORD",
] as const;

function describe(info: ThreatHqRequestInfo): string {
  const status = info.status === undefined ? "" : ` (HTTP ${info.status})`;
  return `ThreatHQ request ${info.method} ${info.path}${status}`;
}

/** Base class of every ThreatHQ failure except rejected credentials. */
export class ThreatHqError extends Error {
  readonly method: string;
  readonly path: string;
  readonly status: number | undefined;

  constructor(info: ThreatHqRequestInfo, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "ThreatHqError";
    this.method = info.method;
    this.path = info.path;
    this.status = info.status;
  }
}

/**
 * HTTP 401 or 403, never retried. It is a `CredentialsRejectedError`, so
 * commands exit with status 3.
 */
export class ThreatHqAuthError extends CredentialsRejectedError {
  readonly method: string;
  readonly path: string;
  readonly status: number;

  constructor(info: ThreatHqRequestInfo & { status: number }) {
    super(
      "ThreatHQ",
      THREATHQ_CREDENTIAL_SETTINGS,
      `HTTP ${info.status} on ${info.method} ${info.path}`,
    );
    this.name = "ThreatHqAuthError";
    this.method = info.method;
    this.path = info.path;
    this.status = info.status;
  }
}

/** HTTP 429 after the last retry. */
export class ThreatHqRateLimitError extends ThreatHqError {
  constructor(
    info: ThreatHqRequestInfo,
    /** The wait the server asked for in `Retry-After`, if it sent one. */
    readonly retryAfterMs: number | undefined,
  ) {
    super(
      info,
      `${
        describe(info)
      } was rate limited; lower COFENSE_THREATHQ_API_LEAKY_BUCKET_RATE or raise COFENSE_THREATHQ_API_RETRY`,
    );
    this.name = "ThreatHqRateLimitError";
  }
}

/** HTTP 404: the threat does not exist or the token may not read it. */
export class ThreatHqNotFoundError extends ThreatHqError {
  constructor(info: ThreatHqRequestInfo) {
    super(info, `${describe(info)} failed: not found`);
    this.name = "ThreatHqNotFoundError";
  }
}

/** HTTP 5xx after the last retry, or at once for a 500 on a PDF report. */
export class ThreatHqServerError extends ThreatHqError {
  constructor(info: ThreatHqRequestInfo, apiMessage?: string) {
    const detail = apiMessage === undefined ? "" : `: ${apiMessage}`;
    super(info, `${describe(info)} failed with a server error${detail}`);
    this.name = "ThreatHqServerError";
  }
}

/**
 * Another 4xx status (such as 400 for a position ThreatHQ no longer
 * accepts). It is never retried.
 */
export class ThreatHqClientError extends ThreatHqError {
  constructor(info: ThreatHqRequestInfo, readonly apiMessage?: string) {
    const detail = apiMessage === undefined ? "" : `: ${apiMessage}`;
    super(info, `${describe(info)} was rejected${detail}`);
    this.name = "ThreatHqClientError";
  }
}

/** A `"success": false` envelope, carrying the API's own message. */
export class ThreatHqApiError extends ThreatHqError {
  constructor(info: ThreatHqRequestInfo, readonly apiMessage: string) {
    super(info, `${describe(info)} returned success false: ${apiMessage}`);
    this.name = "ThreatHqApiError";
  }
}

/** No response within `api_timeout`, after the last retry. */
export class ThreatHqTimeoutError extends ThreatHqError {
  constructor(info: ThreatHqRequestInfo, readonly timeoutMs: number) {
    super(
      info,
      `${
        describe(info)
      } timed out after ${timeoutMs} ms; raise COFENSE_THREATHQ_API_TIMEOUT if ThreatHQ is slow`,
    );
    this.name = "ThreatHqTimeoutError";
  }
}

/** Joins the distinct messages of an error and its causes, outermost first. */
function causeChain(cause: unknown): string {
  const messages: string[] = [];
  for (
    let error = cause, depth = 0;
    error !== undefined && depth < 5;
    depth++
  ) {
    const message = error instanceof Error ? error.message : String(error);
    if (!messages.some((seen) => seen.includes(message))) {
      messages.push(
        message,
      );
    }
    error = error instanceof Error ? error.cause : undefined;
  }
  return messages.join(": ");
}

/** The connection failed (DNS, refused, reset), after the last retry. */
export class ThreatHqNetworkError extends ThreatHqError {
  constructor(info: ThreatHqRequestInfo, cause: unknown, origin?: string) {
    const target = origin === undefined ? "" : ` to ${origin}`;
    super(
      info,
      `${describe(info)}${target} failed: ${
        causeChain(cause)
      }; check COFENSE_THREATHQ_API_BASE_URL and the proxy variables`,
      cause,
    );
    this.name = "ThreatHqNetworkError";
  }
}

/** A body that is invalid or truncated JSON, or JSON of an unexpected shape. */
export class ThreatHqInvalidResponseError extends ThreatHqError {
  constructor(info: ThreatHqRequestInfo, reason: string, cause?: unknown) {
    super(
      info,
      `${describe(info)} returned an invalid response: ${reason}`,
      cause,
    );
    this.name = "ThreatHqInvalidResponseError";
  }
}

/** Either a `ThreatHqError` or a `ThreatHqAuthError`. */
export type AnyThreatHqError = ThreatHqError | ThreatHqAuthError;

/** Returns whether the value is any error of the ThreatHQ client. */
export function isThreatHqError(value: unknown): value is AnyThreatHqError {
  return value instanceof ThreatHqError || value instanceof ThreatHqAuthError;
}
