/**
 * The HTTP client of the OpenCTI GraphQL API: `POST {OPENCTI_URL}/graphql`
 * with the bearer token, the connector's User-Agent and the custom headers.
 * It returns the response's `data` as `unknown`, which callers narrow with
 * zod (`platform_api.ts` does it for every operation).
 */
import { z } from "zod";
import { CredentialsRejectedError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import { USER_AGENT } from "../version.ts";
import {
  GraphqlError,
  type GraphqlErrorEntry,
  PlatformHttpError,
  PlatformUnreachableError,
  TlsVerificationError,
} from "./errors.ts";
import { operationNameOf } from "./operations.ts";
import { describeFetchFailure, isCertificateError } from "./tls.ts";

/** pycti's time limit of one request. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 300_000;

/**
 * Error codes with which the platform rejects a missing or invalid token.
 * NOTE: taken from OpenCTI's error names (its `AuthRequired` error); no
 * live platform was checked for the exact reply to a revoked token.
 */
const TOKEN_REJECTED_CODES = new Set(["AUTH_REQUIRED"]);

const BODY_EXCERPT_LENGTH = 300;

export interface GraphqlClientOptions {
  /** `OPENCTI_URL`, without `/graphql`. */
  url: string;
  token: string;
  /** `OPENCTI_CUSTOM_HEADERS` as name and value pairs. */
  customHeaders?: ReadonlyArray<readonly [string, string]>;
  logger: Logger;
  /** A client that trusts the platform's CA (`createPlatformHttpClient`). */
  httpClient?: Deno.HttpClient;
  /** Time limit of one request, in milliseconds. */
  timeoutMs?: number;
  /** Replaces the global `fetch`, for tests. */
  fetch?: typeof fetch;
}

export interface RequestOptions {
  /** The GraphQL operation name; default: the first one in the text. */
  operationName?: string;
  signal?: AbortSignal;
  /**
   * Treat `FORBIDDEN_ACCESS` as a rejected token too. It is set for the
   * operations that check the token itself (`me`, `registerConnector`),
   * where a user without the connector capability cannot run at all.
   */
  forbiddenMeansRejected?: boolean;
}

export interface GraphqlClient {
  /** The GraphQL endpoint, `{OPENCTI_URL}/graphql`. */
  readonly endpoint: string;
  /**
   * Sends one operation and returns its `data`. Throws `GraphqlError`,
   * `PlatformHttpError`, `PlatformUnreachableError`, `TlsVerificationError`
   * or `CredentialsRejectedError`, and the signal's reason when aborted.
   */
  request(
    query: string,
    variables?: Record<string, unknown>,
    options?: RequestOptions,
  ): Promise<unknown>;
}

const errorEntrySchema = z.looseObject({
  message: z.unknown().optional(),
  name: z.unknown().optional(),
  extensions: z.looseObject({ code: z.unknown().optional() }).optional(),
  path: z.array(z.union([z.string(), z.number()])).optional(),
});

const responseSchema = z.looseObject({
  data: z.unknown().optional(),
  errors: z.array(errorEntrySchema).optional(),
});

/** Joins the platform URL and `/graphql`, with or without a final slash. */
export function graphqlEndpoint(url: string): string {
  return url.replace(/\/+$/, "") + "/graphql";
}

/** Creates a client. It keeps no connection of its own beyond `httpClient`. */
export function createGraphqlClient(
  options: GraphqlClientOptions,
): GraphqlClient {
  const endpoint = graphqlEndpoint(options.url);
  const send = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const headers = buildHeaders(options);

  const request = async (
    query: string,
    variables: Record<string, unknown> = {},
    requestOptions: RequestOptions = {},
  ): Promise<unknown> => {
    const operationName = requestOptions.operationName ??
      operationNameOf(query) ?? "anonymous";
    options.logger.debug("Sending OpenCTI request", {
      operation: operationName,
    });

    const response = await post({
      send,
      endpoint,
      headers,
      httpClient: options.httpClient,
      body: JSON.stringify({ query, variables, operationName }),
      operationName,
      timeoutMs,
      signal: requestOptions.signal,
    });
    const text = await response.text();
    return readResponse({
      endpoint,
      operationName,
      status: response.status,
      text,
      forbiddenMeansRejected: requestOptions.forbiddenMeansRejected ?? false,
    });
  };

  return { endpoint, request };
}

function buildHeaders(options: GraphqlClientOptions): Headers {
  const headers = new Headers({
    "Content-Type": "application/json",
    Accept: "application/json",
    "User-Agent": USER_AGENT,
    Authorization: `Bearer ${options.token}`,
  });

  // Custom headers are set last, so they may replace the ones above, as
  // pycti lets them.
  for (const [name, value] of options.customHeaders ?? []) {
    headers.set(name, value);
  }
  return headers;
}

interface PostInput {
  send: typeof fetch;
  endpoint: string;
  headers: Headers;
  httpClient?: Deno.HttpClient;
  body: string;
  operationName: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

async function post(input: PostInput): Promise<Response> {
  const timeout = AbortSignal.timeout(input.timeoutMs);
  const signal = input.signal === undefined
    ? timeout
    : AbortSignal.any([input.signal, timeout]);

  try {
    return await input.send(input.endpoint, {
      method: "POST",
      headers: input.headers,
      body: input.body,
      signal,
      ...(input.httpClient === undefined ? {} : { client: input.httpClient }),
    });
  } catch (error) {
    if (input.signal?.aborted) throw input.signal.reason;

    if (timeout.aborted) {
      throw new PlatformUnreachableError(
        input.operationName,
        input.endpoint,
        `timed out after ${input.timeoutMs} ms`,
        { cause: error },
      );
    }
    const reason = describeFetchFailure(error);
    if (isCertificateError(error)) {
      throw new TlsVerificationError(
        input.endpoint,
        "OPENCTI_SSL_VERIFY",
        reason,
        { cause: error },
      );
    }
    throw new PlatformUnreachableError(
      input.operationName,
      input.endpoint,
      reason,
      { cause: error },
    );
  }
}

interface ResponseInput {
  endpoint: string;
  operationName: string;
  status: number;
  text: string;
  forbiddenMeansRejected: boolean;
}

function readResponse(input: ResponseInput): unknown {
  if (input.status === 401) {
    throw tokenRejected(`HTTP 401 from ${input.endpoint}`);
  }

  const parsed = responseSchema.safeParse(parseJson(input.text));
  const errors = parsed.success ? parsed.data.errors ?? [] : [];
  if (errors.length > 0) {
    throw graphqlFailure(input, errors.map(toErrorEntry));
  }

  const isGraphqlBody = parsed.success && "data" in parsed.data;
  if (input.status < 200 || input.status > 299 || !isGraphqlBody) {
    throw new PlatformHttpError(
      input.operationName,
      input.endpoint,
      input.status,
      excerpt(input.text),
    );
  }
  return parsed.data.data;
}

function graphqlFailure(
  input: ResponseInput,
  entries: GraphqlErrorEntry[],
): Error {
  const rejected = entries.find((entry) =>
    entry.code !== undefined &&
    (TOKEN_REJECTED_CODES.has(entry.code) ||
      (input.forbiddenMeansRejected && entry.code === "FORBIDDEN_ACCESS"))
  );
  if (rejected !== undefined) {
    return tokenRejected(`${rejected.code} on ${input.operationName}`);
  }
  return new GraphqlError(input.operationName, input.status, entries);
}

function tokenRejected(detail: string): CredentialsRejectedError {
  return new CredentialsRejectedError("OpenCTI", ["OPENCTI_TOKEN"], detail);
}

function toErrorEntry(
  raw: z.infer<typeof errorEntrySchema>,
): GraphqlErrorEntry {
  const name = typeof raw.name === "string" ? raw.name : undefined;
  const extensionCode = typeof raw.extensions?.code === "string"
    ? raw.extensions.code
    : undefined;
  return {
    message: typeof raw.message === "string" ? raw.message : "no message",
    code: name ?? extensionCode,
    path: raw.path,
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= BODY_EXCERPT_LENGTH
    ? flat
    : flat.slice(0, BODY_EXCERPT_LENGTH) + "…";
}
