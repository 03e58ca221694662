/**
 * The ThreatHQ HTTP client: HTTP Basic auth, one token bucket for every
 * request, a time limit per attempt, and retries with backoff on network
 * errors, timeouts, truncated bodies, 429 and 5xx. Create one per process,
 * so that the bucket covers changelog, detail and PDF requests together.
 *
 * Deno's fetch reads HTTPS_PROXY, HTTP_PROXY and NO_PROXY itself, so the
 * client goes through a proxy without any setting of its own. For an
 * https:// base URL it opens a CONNECT tunnel through HTTPS_PROXY and
 * still verifies the server's certificate (add a private CA with
 * DENO_CERT). tests/threathq/proxy_test.ts runs each case on loopback.
 */
import ky, { isNetworkError } from "ky";
import { z } from "zod";
import { ConfigError, type SettingProblem } from "../config/load.ts";
import type { Settings } from "../config/settings.ts";
import type { Logger } from "../log/logger.ts";
import { USER_AGENT } from "../version.ts";
import {
  type AnyThreatHqError,
  ThreatHqApiError,
  ThreatHqAuthError,
  ThreatHqClientError,
  ThreatHqInvalidResponseError,
  ThreatHqNetworkError,
  ThreatHqNotFoundError,
  ThreatHqRateLimitError,
  type ThreatHqRequestInfo,
  ThreatHqServerError,
  ThreatHqTimeoutError,
} from "./errors.ts";
import { type LimitedBody, readLimited } from "./limited_body.ts";
import { parseRetryAfterMs, retryDelayMs } from "./retry_delay.ts";
import {
  abortableSleep,
  type Clock,
  monotonicClock,
  type Sleep,
} from "./sleep.ts";
import { createTokenBucket, type TokenBucket } from "./token_bucket.ts";

export type { LimitedBody } from "./limited_body.ts";

/** One finished attempt; `status` is absent when no response arrived. */
export interface RequestObservation {
  /** A fixed name such as `threat/malware/{id}`, for metric labels. */
  endpoint: string;
  method: string;
  status: number | undefined;
  durationMs: number;
}

export interface RetryObservation extends RequestObservation {
  path: string;
  /** 1 for the first retry. */
  retry: number;
  delayMs: number;
  error: AnyThreatHqError;
}

/** Hooks for a metrics module; each is called synchronously. */
export interface ThreatHqObserver {
  onRequest?(info: RequestObservation): void;
  onRetry?(info: RetryObservation): void;
  /** Called with the time a request waited for the token bucket. */
  onRateLimitWait?(ms: number): void;
}

export interface ThreatHqClientOptions {
  /** `api_base_url`; `…/apiv1` and `…/apiv1/` give the same request URLs. */
  baseUrl: string;
  user: string;
  password: string;
  ratePerSecond: number;
  burstCapacity: number;
  /** Retries after the first attempt. */
  retries: number;
  /** The cap of the computed wait between retries. */
  maxBackoffMs: number;
  /** The time limit of one attempt, response body included. */
  timeoutMs: number;
  logger: Logger;
  observer?: ThreatHqObserver;
  /** Monotonic clock for durations and the token bucket. */
  now?: Clock;
  /** Epoch milliseconds, to resolve a `Retry-After` date. */
  wallClock?: () => number;
  sleep?: Sleep;
  random?: () => number;
  bucket?: TokenBucket;
}

export interface ThreatHqRequest {
  method: "GET" | "POST";
  /** Relative to the base URL, such as `threat/updates`. */
  path: string;
  /** A fixed name for metrics and logs, such as `threat/malware/{id}`. */
  endpoint: string;
  /** Query parameters; a name may repeat. */
  searchParams?: ReadonlyArray<readonly [string, string]>;
  /** Statuses that fail at once instead of being retried. */
  noRetryStatuses?: readonly number[];
  signal?: AbortSignal;
}

export interface ThreatHqClient {
  /** The normalised base URL, ending with one slash. */
  readonly baseUrl: string;
  /** Sends a request and returns the `data` of its `success: true` body. */
  json(request: ThreatHqRequest): Promise<unknown>;
  /**
   * Sends a request and returns its body, reading at most `maxBytes`.
   * `accept` is the `Accept` header, such as `application/pdf`.
   */
  bytes(
    request: ThreatHqRequest,
    options: { maxBytes: number; accept: string },
  ): Promise<LimitedBody>;
}

/** Builds the client options from the `cofense_threathq` settings. */
export function clientOptionsFromSettings(
  settings: Settings["cofense_threathq"],
  logger: Logger,
  observer?: ThreatHqObserver,
): ThreatHqClientOptions {
  const { token_user: user, token_password: password } = settings;
  if (user === undefined || password === undefined) {
    throw new ConfigError(missingCredentials(user, password));
  }

  return {
    baseUrl: settings.api_base_url,
    user,
    password,
    ratePerSecond: settings.api_leaky_bucket_rate,
    burstCapacity: settings.api_leaky_bucket_capacity,
    retries: settings.api_retry,
    maxBackoffMs: settings.api_backoff,
    timeoutMs: settings.api_timeout,
    logger,
    observer,
  };
}

function missingCredentials(
  user: string | undefined,
  password: string | undefined,
): SettingProblem[] {
  const problems: SettingProblem[] = [];
  const message = "missing; the ThreatHQ client needs both token settings";
  if (user === undefined) {
    problems.push({
      path: "cofense_threathq.token_user",
      env: "COFENSE_THREATHQ_TOKEN_USER",
      message,
    });
  }
  if (password === undefined) {
    problems.push({
      path: "cofense_threathq.token_password",
      env: "COFENSE_THREATHQ_TOKEN_PASSWORD",
      message,
    });
  }
  return problems;
}

/** Returns the base URL with exactly one trailing slash and no query. */
export function normaliseBaseUrl(baseUrl: string): string {
  const url = new URL(baseUrl.trim());
  url.search = "";
  url.hash = "";
  url.pathname = url.pathname.replace(/\/+$/, "") + "/";
  return url.href;
}

/** Joins a base URL and a relative path without doubling slashes. */
export function joinUrl(baseUrl: string, path: string): URL {
  return new URL(path.replace(/^\/+/, ""), normaliseBaseUrl(baseUrl));
}

function basicAuthorization(user: string, password: string): string {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  return `Basic ${bytes.toBase64()}`;
}

const envelopeSchema = z.looseObject({
  success: z.boolean(),
  data: z.unknown().optional(),
});

const errorBodySchema = z.looseObject({
  message: z.string().optional(),
  data: z.union([
    z.string(),
    z.looseObject({
      exception: z.string().optional(),
      message: z.string().optional(),
    }),
  ]).optional(),
});

const MAX_API_MESSAGE_CHARS = 300;

/** Reads the API's message out of an error or `success: false` body. */
export function apiMessageOf(body: unknown): string | undefined {
  const parsed = errorBodySchema.safeParse(body);
  if (!parsed.success) return undefined;

  const data = parsed.data.data;
  const message = typeof data === "string"
    ? data
    : data?.exception ?? data?.message ?? parsed.data.message;
  return message?.slice(0, MAX_API_MESSAGE_CHARS);
}

/** A failure and whether another attempt may succeed. */
interface Failure {
  error: AnyThreatHqError;
  retryable: boolean;
  retryAfter?: string | null;
}

class AttemptFailure extends Error {
  constructor(readonly failure: Failure) {
    super(failure.error.message);
  }
}

async function readErrorMessage(
  response: Response,
): Promise<string | undefined> {
  try {
    const text = await response.text();
    return apiMessageOf(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/** Maps a non-2xx response to its typed error and retry decision. */
async function failureOf(
  response: Response,
  info: ThreatHqRequestInfo & { status: number },
  request: ThreatHqRequest,
  nowMs: number,
): Promise<Failure> {
  const status = info.status;
  if (status === 401 || status === 403) {
    await response.body?.cancel();
    return { error: new ThreatHqAuthError(info), retryable: false };
  }
  if (status === 404) {
    await response.body?.cancel();
    return { error: new ThreatHqNotFoundError(info), retryable: false };
  }

  const retryAfter = response.headers.get("retry-after");
  const noRetry = request.noRetryStatuses?.includes(status) ?? false;
  const message = await readErrorMessage(response);
  if (status === 429) {
    const waitMs = parseRetryAfterMs(retryAfter, nowMs);
    const error = new ThreatHqRateLimitError(info, waitMs);
    return { error, retryable: !noRetry, retryAfter };
  }
  if (status >= 500) {
    const error = new ThreatHqServerError(info, message);
    return { error, retryable: !noRetry, retryAfter };
  }
  return { error: new ThreatHqClientError(info, message), retryable: false };
}

/** Reads and checks a JSON envelope; returns its `data`. */
async function readEnvelope(
  response: Response,
  info: ThreatHqRequestInfo,
): Promise<unknown> {
  const text = await response.text();

  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    // A cut connection truncates the body, so another attempt may succeed.
    const reason = `the body is not valid JSON (${text.length} characters)`;
    const invalid = new ThreatHqInvalidResponseError(info, reason, error);
    throw new AttemptFailure({ error: invalid, retryable: true });
  }

  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success) {
    const reason = 'the body has no boolean "success" field';
    const invalid = new ThreatHqInvalidResponseError(info, reason);
    throw new AttemptFailure({ error: invalid, retryable: false });
  }
  if (!envelope.data.success) {
    const message = apiMessageOf(body) ?? "no message";
    const error = new ThreatHqApiError(info, message);
    throw new AttemptFailure({ error, retryable: false });
  }
  return envelope.data.data;
}

/** Creates the process's ThreatHQ client. */
export function createThreatHqClient(
  options: ThreatHqClientOptions,
): ThreatHqClient {
  const baseUrl = normaliseBaseUrl(options.baseUrl);
  const now = options.now ?? monotonicClock;
  const wallClock = options.wallClock ?? Date.now;
  const sleep = options.sleep ?? abortableSleep;
  const random = options.random ?? Math.random;
  const bucket = options.bucket ?? createTokenBucket({
    capacity: options.burstCapacity,
    ratePerSecond: options.ratePerSecond,
    now,
    sleep,
  });
  const http = ky.create({
    retry: 0,
    timeout: false,
    throwHttpErrors: false,
    headers: {
      authorization: basicAuthorization(options.user, options.password),
      "user-agent": USER_AGENT,
    },
  });
  const observer = options.observer ?? {};

  /** Sends one attempt and reads its body; throws an `AttemptFailure`. */
  async function attempt<T>(
    request: ThreatHqRequest,
    url: URL,
    accept: string,
    read: (response: Response, info: ThreatHqRequestInfo) => Promise<T>,
  ): Promise<{ value: T; status: number }> {
    const info: ThreatHqRequestInfo = {
      method: request.method,
      path: url.pathname,
    };
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = request.signal === undefined
      ? timeout
      : AbortSignal.any([request.signal, timeout]);

    try {
      const response = await http(url, {
        method: request.method,
        searchParams: request.searchParams?.map(([k, v]) => [k, v]),
        headers: { accept },
        signal,
      });
      const withStatus = { ...info, status: response.status };
      if (!response.ok) {
        const failure = await failureOf(
          response,
          withStatus,
          request,
          wallClock(),
        );
        throw new AttemptFailure(failure);
      }
      return {
        value: await read(response, withStatus),
        status: response.status,
      };
    } catch (error) {
      if (error instanceof AttemptFailure) throw error;
      if (request.signal?.aborted) throw request.signal.reason;
      if (timeout.aborted) {
        const timedOut = new ThreatHqTimeoutError(info, options.timeoutMs);
        throw new AttemptFailure({ error: timedOut, retryable: true });
      }
      if (isNetworkError(error) || error instanceof TypeError) {
        const cause = isNetworkError(error) ? error.cause ?? error : error;
        const failed = new ThreatHqNetworkError(info, cause, url.origin);
        throw new AttemptFailure({ error: failed, retryable: true });
      }
      throw error;
    }
  }

  async function send<T>(
    request: ThreatHqRequest,
    accept: string,
    read: (response: Response, info: ThreatHqRequestInfo) => Promise<T>,
  ): Promise<T> {
    const url = joinUrl(baseUrl, request.path);
    for (let retry = 0;; retry++) {
      const waited = await bucket.take(request.signal);
      if (waited > 0) observer.onRateLimitWait?.(waited);

      const started = now();
      let failure: Failure;
      try {
        const { value, status } = await attempt(request, url, accept, read);
        observer.onRequest?.({
          endpoint: request.endpoint,
          method: request.method,
          status,
          durationMs: now() - started,
        });
        return value;
      } catch (error) {
        if (!(error instanceof AttemptFailure)) throw error;
        failure = error.failure;
      }

      const observation: RequestObservation = {
        endpoint: request.endpoint,
        method: request.method,
        status: failure.error.status,
        durationMs: now() - started,
      };
      observer.onRequest?.(observation);
      if (!failure.retryable || retry >= options.retries) throw failure.error;

      const delayMs = retryDelayMs({
        retry: retry + 1,
        maxDelayMs: options.maxBackoffMs,
        retryAfter: failure.retryAfter,
        nowMs: wallClock(),
        random,
      });
      options.logger.warn("ThreatHQ request failed; retrying", {
        method: request.method,
        path: url.pathname,
        status: failure.error.status,
        delay_ms: delayMs,
        retry: retry + 1,
        max_retries: options.retries,
        error: failure.error.message,
      });
      observer.onRetry?.({
        ...observation,
        path: url.pathname,
        retry: retry + 1,
        delayMs,
        error: failure.error,
      });
      await sleep(delayMs, request.signal);
    }
  }

  return {
    baseUrl,
    json: (request) => send(request, "application/json", readEnvelope),
    bytes: (request, { maxBytes, accept }) =>
      send(request, accept, (response) => readLimited(response, maxBytes)),
  };
}
