/**
 * Errors every command maps to an exit status. Exit statuses are part of the
 * interface: 0 success, 1 a run failed, 2 invalid settings or usage, 3
 * credentials rejected by ThreatHQ or OpenCTI.
 */

export const EXIT_OK = 0;
export const EXIT_RUN_FAILED = 1;
export const EXIT_INVALID_SETTINGS = 2;
export const EXIT_CREDENTIALS_REJECTED = 3;

/** Credentials rejected by a service; never carries the secret itself. */
export class CredentialsRejectedError extends Error {
  constructor(
    readonly service: "ThreatHQ" | "OpenCTI",
    /** The settings that hold the rejected credentials, to name in the fix. */
    readonly settings: readonly string[],
    detail: string,
  ) {
    super(
      `${service} rejected the credentials (${detail}); check ${
        settings.join(" and ")
      }`,
    );
    this.name = "CredentialsRejectedError";
  }
}

/** Bad command-line usage, such as an unknown flag (exit status 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
