/**
 * Errors of the OpenCTI GraphQL client. None of them carries the token or a
 * custom header value, because the messages reach logs and standard error.
 * A rejected token is a `CredentialsRejectedError` from `src/errors.ts`.
 */

/** One entry of a GraphQL response's `errors` array. */
export interface GraphqlErrorEntry {
  message: string;
  /** The platform's error code, such as `FUNCTIONAL_ERROR`. */
  code?: string;
  /** The GraphQL path of the field that failed, when the platform gives one. */
  path?: ReadonlyArray<string | number>;
}

/** A GraphQL response with an `errors` array (HTTP 200, or 400 from Apollo). */
export class GraphqlError extends Error {
  /**
   * The platform's code of the first error: its `name` (OpenCTI copies
   * `extensions.code` there), else `extensions.code`. Validation errors
   * from Apollo have `GRAPHQL_VALIDATION_FAILED`.
   */
  readonly code: string | undefined;

  constructor(
    readonly operationName: string,
    readonly httpStatus: number,
    readonly errors: readonly GraphqlErrorEntry[],
  ) {
    const first = errors[0];
    const code = first?.code;
    const text = first?.message ?? "no error message";
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : "";
    super(
      `OpenCTI operation ${operationName} failed with ${
        code ?? "an error"
      }: ${text}${more}`,
    );
    this.name = "GraphqlError";
    this.code = code;
  }
}

/** An HTTP status other than 2xx, or a body that is not a GraphQL response. */
export class PlatformHttpError extends Error {
  constructor(
    readonly operationName: string,
    readonly url: string,
    readonly httpStatus: number,
    /** The start of the response body, for diagnosis. */
    readonly bodyExcerpt: string,
  ) {
    super(
      `OpenCTI operation ${operationName} failed: ${url} returned HTTP ${httpStatus}${
        bodyExcerpt === "" ? "" : `: ${bodyExcerpt}`
      }`,
    );
    this.name = "PlatformHttpError";
  }
}

/** The request did not reach the platform or timed out. */
export class PlatformUnreachableError extends Error {
  constructor(
    readonly operationName: string,
    readonly url: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(
      `OpenCTI operation ${operationName} failed: ${url} is unreachable (${reason}); check OPENCTI_URL and that the platform is running`,
      options,
    );
    this.name = "PlatformUnreachableError";
  }
}

/** The data of a response does not have the shape the operation requests. */
export class PlatformResponseError extends Error {
  constructor(
    readonly operationName: string,
    detail: string,
  ) {
    super(
      `OpenCTI operation ${operationName} returned unexpected data: ${detail}`,
    );
    this.name = "PlatformResponseError";
  }
}

/**
 * A TLS certificate that failed verification. `setting` is the setting that
 * gives the CA, so the message names the fix.
 */
export class TlsVerificationError extends Error {
  constructor(
    /** The URL or `host:port` whose certificate failed. */
    readonly target: string,
    readonly setting: "OPENCTI_SSL_VERIFY" | "MQ_USE_SSL_CA",
    reason: string,
    options?: ErrorOptions,
  ) {
    super(
      `TLS certificate verification failed for ${target} (${reason}). If it uses a private or self-signed CA, give that CA certificate: ${setting}=<path to CA file>`,
      options,
    );
    this.name = "TlsVerificationError";
  }
}
