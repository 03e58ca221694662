import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ConfigError } from "../../src/config/load.ts";
import { CredentialsRejectedError, UsageError } from "../../src/errors.ts";
import { HealthServerError } from "../../src/health/server.ts";
import { TlsVerificationError } from "../../src/opencti/errors.ts";
import { TlsSettingError } from "../../src/opencti/tls.ts";
import {
  exitStatusOf,
  isAbortOf,
  isFatalError,
} from "../../src/runtime/fatal_errors.ts";
import { ThreatHqAuthError } from "../../src/threathq/errors.ts";

const t = suite("runtime: fatal errors");

const CASES: Array<[string, unknown, number]> = [
  [
    "ThreatHQ 401",
    new ThreatHqAuthError({ method: "POST", path: "/updates", status: 401 }),
    3,
  ],
  [
    "OpenCTI token",
    new CredentialsRejectedError("OpenCTI", ["OPENCTI_TOKEN"], "AUTH"),
    3,
  ],
  ["invalid settings", new ConfigError([]), 2],
  ["usage", new UsageError("unknown argument --x"), 2],
  ["CA file", new TlsSettingError("MQ_USE_SSL_CA", "cannot read"), 2],
  [
    "certificate",
    new TlsVerificationError("https://x", "OPENCTI_SSL_VERIFY", "bad"),
    2,
  ],
  ["health port", new HealthServerError("in use"), 2],
  ["other error", new Error("broker down"), 1],
  ["thrown string", "SIGTERM", 1],
];

for (const [name, error, status] of CASES) {
  t(`exit status of ${name}`, () => {
    assert.is(exitStatusOf(error), status);
    assert.is(isFatalError(error), status !== 1);
  });
}

t("abort reason is an abort", () => {
  const controller = new AbortController();
  controller.abort("SIGTERM");

  assert.ok(isAbortOf("SIGTERM", controller.signal));
  assert.ok(
    isAbortOf(new DOMException("stopped", "AbortError"), controller.signal),
  );
  assert.not.ok(isAbortOf(new Error("broker down"), controller.signal));
});

t("nothing is an abort before the signal", () => {
  const signal = new AbortController().signal;

  assert.not.ok(isAbortOf(new DOMException("x", "AbortError"), signal));
  assert.not.ok(isAbortOf(undefined, signal));
});

t.run();
