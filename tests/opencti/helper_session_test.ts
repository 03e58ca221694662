import { suite } from "uvu";
import * as assert from "uvu/assert";
import { loadSettings } from "../../src/config/load.ts";
import { CredentialsRejectedError } from "../../src/errors.ts";
import { createMemoryLogger } from "../../src/log/logger.ts";
import { TlsVerificationError } from "../../src/opencti/errors.ts";
import { openPlatformSession } from "../../src/opencti/platform_session.ts";
import { createFakeClock } from "../../src/runtime/clock.ts";
import { createPlatformStandin } from "../support/platform_standin.ts";
import {
  createTestCertificates,
  type TestCertificates,
} from "../support/platform_tls.ts";

const t = suite("opencti: helper session");

const TOKEN = "session-token-4c1d";

let certificates: TestCertificates;
let emptyDir: string;

t.before(async () => {
  certificates = await createTestCertificates();
  emptyDir = await Deno.makeTempDir({ prefix: "threathq-session-" });
});

t.after(async () => {
  await certificates.remove();
  await Deno.remove(emptyDir, { recursive: true });
});

async function settingsFor(env: Record<string, string>) {
  const loaded = await loadSettings({
    cwd: emptyDir,
    env: {
      OPENCTI_TOKEN: TOKEN,
      CONNECTOR_ID: crypto.randomUUID(),
      COFENSE_THREATHQ_TOKEN_USER: "user",
      COFENSE_THREATHQ_TOKEN_PASSWORD: "password",
      ...env,
    },
    mode: "run",
  });
  return loaded.settings;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
}

t("session registers with custom headers", async () => {
  const standin = await createPlatformStandin({ token: TOKEN });
  const settings = await settingsFor({
    OPENCTI_URL: standin.url,
    OPENCTI_CUSTOM_HEADERS: "X-Tenant:blue;X-Team: cti",
  });

  try {
    const session = await openPlatformSession({
      settings,
      logger: createMemoryLogger(),
      clock: createFakeClock(),
    });
    session.close();

    assert.is(session.version, "6.9.17");
    assert.is(session.helper.connectorId, settings.connector.id);
    const names = standin.calls.map((call) => call.operationName);
    assert.equal(names, ["healthCheck", "RegisterConnector"]);
    for (const call of standin.calls) {
      assert.is(call.headers["x-tenant"], "blue");
      assert.is(call.headers["x-team"], "cti");
      assert.match(call.headers["user-agent"], /^threathq-connector\//);
    }
  } finally {
    await standin.stop();
  }
});

t("rejected token stops before registering", async () => {
  const standin = await createPlatformStandin({ token: "another-token" });
  const settings = await settingsFor({ OPENCTI_URL: standin.url });
  const logger = createMemoryLogger({ secrets: [TOKEN] });

  try {
    const error = await rejection(
      openPlatformSession({ settings, logger, clock: createFakeClock() }),
    );

    assert.instance(error, CredentialsRejectedError);
    assert.match((error as Error).message, "OPENCTI_TOKEN");
    assert.not.match((error as Error).message, TOKEN);
    assert.is(standin.callsOf("RegisterConnector").length, 0);
    assert.ok(logger.lines.every((line) => !line.includes(TOKEN)));
  } finally {
    await standin.stop();
  }
});

t("private CA without the setting names it", async () => {
  const standin = await createPlatformStandin({
    tls: { cert: certificates.certPem, key: certificates.keyPem },
  });
  const settings = await settingsFor({ OPENCTI_URL: standin.url });

  try {
    const error = await rejection(
      openPlatformSession({
        settings,
        logger: createMemoryLogger(),
        clock: createFakeClock(),
      }),
    );

    assert.instance(error, TlsVerificationError);
    assert.match((error as Error).message, `${standin.url}/graphql`);
    assert.match(
      (error as Error).message,
      "OPENCTI_SSL_VERIFY=<path to CA file>",
    );
  } finally {
    await standin.stop();
  }
});

t("private CA file is trusted", async () => {
  const standin = await createPlatformStandin({
    tls: { cert: certificates.certPem, key: certificates.keyPem },
  });
  const settings = await settingsFor({
    OPENCTI_URL: standin.url,
    OPENCTI_SSL_VERIFY: certificates.caPath,
  });

  try {
    const session = await openPlatformSession({
      settings,
      logger: createMemoryLogger(),
      clock: createFakeClock(),
    });
    session.close();

    assert.match(standin.url, /^https:/);
    assert.is(session.helper.connectorId, settings.connector.id);
  } finally {
    await standin.stop();
  }
});

t.run();
