import { suite } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { type CheckDependencies, runCheck } from "../../src/cli/check.ts";
import { redactSecrets } from "../../src/cli/check_report.ts";
import type { CliContext } from "../../src/cli/context.ts";
import { createGraphqlClient } from "../../src/opencti/graphql_client.ts";
import { createPlatformApi } from "../../src/opencti/platform_api.ts";
import { createMemoryLogger } from "../../src/log/logger.ts";
import { permissionFlags } from "../../scripts/permissions.ts";
import { BROKER_HOST, BROKER_PORT, brokerAvailable } from "../support/amqp.ts";
import {
  createPlatformStandin,
  type PlatformStandin,
  type PlatformStandinOptions,
  schemaAvailable,
} from "../support/platform_standin.ts";
import {
  createTestCertificates,
  type TestCertificates,
} from "../support/platform_tls.ts";
import { startTcpProxy } from "../support/tcp_proxy.ts";
import {
  startThreatHqSimulator,
  type ThreatHqSimulator,
} from "../support/threathq_simulator.ts";

const t = suite("cli: check");
const brokerTest = await brokerAvailable() ? t : t.skip;

const REPOSITORY = new URL("../../", import.meta.url).pathname;

interface CheckRun {
  code: number;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  args?: string[];
  /** Files written into the working directory before the run. */
  files?: Record<string, string>;
  dependencies?: CheckDependencies;
  signal?: AbortSignal;
}

/** Runs `check` in a fresh working directory with these variables. */
async function check(
  env: Record<string, string>,
  options: RunOptions = {},
): Promise<CheckRun> {
  const cwd = await Deno.makeTempDir({ prefix: "threathq-check-" });
  const output = { stdout: "", stderr: "" };
  const context: CliContext = {
    env,
    cwd,
    stdin: new ReadableStream(),
    stdout: (text) => output.stdout += text,
    stderr: (text) => output.stderr += text,
    signal: options.signal ?? new AbortController().signal,
  };

  try {
    for (const [name, text] of Object.entries(options.files ?? {})) {
      await Deno.writeTextFile(join(cwd, name), text);
    }
    const code = await runCheck(options.args ?? [], context, {
      timeoutMs: 5_000,
      ...options.dependencies,
    });
    return { code, ...output };
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}

/** Returns the result line of one check; fails when there is none. */
function lineOf(run: CheckRun, name: string): string {
  const pattern = new RegExp(`^(ok|FAIL|skip)\\s+${name}\\s`);
  const line = run.stdout.split("\n").find((text) => pattern.test(text));
  assert.ok(line !== undefined, `no ${name} line in:\n${run.stdout}`);
  return line!;
}

/** Asserts that no secret appears in standard output or standard error. */
function assertNoSecrets(run: CheckRun, secrets: readonly string[]): void {
  for (const secret of secrets) {
    assert.not.match(run.stdout, secret, `stdout shows ${secret}`);
    assert.not.match(run.stderr, secret, `stderr shows ${secret}`);
  }
}

/** Returns a loopback port with nothing listening on it. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

interface Services {
  simulator: ThreatHqSimulator;
  standin: PlatformStandin;
  connectorId: string;
  /** Variables that make the ThreatHQ and OpenCTI checks pass. */
  env: Record<string, string>;
  stop(): Promise<void>;
}

const PLATFORM_TOKEN = "platform-token-3f9e1c";

async function startServices(
  platform: PlatformStandinOptions = {},
): Promise<Services> {
  const simulator = startThreatHqSimulator({
    user: "thq-user-5d21",
    password: "thq-password-8c7a",
  });
  const standin = await createPlatformStandin({
    token: PLATFORM_TOKEN,
    ...platform,
  });
  const connectorId = crypto.randomUUID();
  return {
    simulator,
    standin,
    connectorId,
    env: {
      OPENCTI_URL: standin.url,
      OPENCTI_TOKEN: PLATFORM_TOKEN,
      CONNECTOR_ID: connectorId,
      COFENSE_THREATHQ_TOKEN_USER: simulator.user,
      COFENSE_THREATHQ_TOKEN_PASSWORD: simulator.password,
      COFENSE_THREATHQ_API_BASE_URL: simulator.url,
    },
    async stop() {
      await simulator.close();
      await standin.stop();
    },
  };
}

/** Registers the connector on the stand-in, as a first run would. */
async function register(services: Services): Promise<void> {
  const client = createGraphqlClient({
    url: services.standin.url,
    token: PLATFORM_TOKEN,
    logger: createMemoryLogger(),
  });
  await createPlatformApi(client).registerConnector({
    id: services.connectorId,
    name: "Cofense ThreatHQ",
    type: "EXTERNAL_IMPORT",
    scope: ["Cofense ThreatHQ"],
    auto: false,
    only_contextual: false,
    playbook_compatible: false,
  });
}

/** Returns the MQ_* settings of the test broker. */
function brokerEnv(): Record<string, string> {
  return {
    MQ_HOST: BROKER_HOST,
    MQ_PORT: String(BROKER_PORT),
    MQ_USER: "guest",
    MQ_PASS: "guest",
  };
}

/** Creates a self-signed certificate for 127.0.0.1 with openssl. */
async function selfSignedCertificate(): Promise<{
  cert: string;
  key: string;
  remove(): Promise<void>;
}> {
  const dir = await Deno.makeTempDir({ prefix: "threathq-self-signed-" });
  const { code, stderr } = await new Deno.Command("openssl", {
    args: [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "key.pem",
      "-out",
      "cert.pem",
      "-days",
      "2",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
    ],
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(
      `openssl req failed (exit ${code}): ${new TextDecoder().decode(stderr)}`,
    );
  }
  return {
    cert: await Deno.readTextFile(join(dir, "cert.pem")),
    key: await Deno.readTextFile(join(dir, "key.pem")),
    remove: () => Deno.remove(dir, { recursive: true }),
  };
}

// Settings

t("invalid settings fail and skip the rest", async () => {
  const run = await check({
    OPENCTI_URL: "not a url",
    CONNECTOR_METRICS_PORT: "70000",
  });

  assert.is(run.code, 1);
  assert.match(
    lineOf(run, "settings"),
    /^FAIL {2}settings {3}invalid settings/,
  );
  assert.match(lineOf(run, "settings"), "fix: correct each setting");
  assert.match(
    run.stdout,
    /\n {17}opencti\.url \(OPENCTI_URL\) from environment: "not a url" is invalid/,
  );
  assert.match(
    run.stdout,
    /\n {17}connector\.metrics_port \(CONNECTOR_METRICS_PORT\) from environment/,
  );
  assert.match(lineOf(run, "settings"), "(6 problems)");
  assert.match(run.stdout, /opencti\.token \(OPENCTI_TOKEN\): missing/);
  for (const name of ["threathq", "opencti", "rabbitmq", "directory"]) {
    assert.match(lineOf(run, name), "skip", name);
    assert.match(lineOf(run, name), "the settings are invalid", name);
  }
  assert.match(run.stdout, /5 checks: 0 ok, 1 failed, 4 skipped\n$/);
});

t("missing settings are listed", async () => {
  const run = await check({});

  assert.is(run.code, 1);
  assert.match(
    run.stdout,
    /\n {17}cofense_threathq\.token_user \(COFENSE_THREATHQ_TOKEN_USER\): missing/,
  );
  assert.match(run.stdout, /\n {17}opencti\.url \(OPENCTI_URL\): missing/);
  assert.match(run.stdout, /\n {17}connector\.id \(CONNECTOR_ID\): missing/);
});

t("invalid settings print no secret", async () => {
  const secrets = ["token-secret-71aa", "mq-pass-secret-0b3c", "hdr-9d1f"];
  const run = await check({
    OPENCTI_URL: "http://127.0.0.1:1",
    OPENCTI_TOKEN: secrets[0],
    OPENCTI_CUSTOM_HEADERS: `X-Key:${secrets[2]}`,
    MQ_PASS: secrets[1],
    CONNECTOR_ID: "not-a-uuid",
    COFENSE_THREATHQ_TOKEN_USER: "thq-user-secret-4e",
    COFENSE_THREATHQ_TOKEN_PASSWORD: "x",
    MQ_USE_SSL_REJECT_UNAUTHORIZED: "false",
  });

  assert.is(run.code, 1);
  assert.match(run.stdout, "connector.id (CONNECTOR_ID)");
  assert.match(run.stdout, "MQ_USE_SSL_CA=<path to CA file (PEM)>");
  assertNoSecrets(run, [...secrets, "thq-user-secret-4e"]);
});

t("--config file is the source", async () => {
  const services = await startServices();
  try {
    const yaml = Object.entries({
      opencti: {
        url: services.standin.url,
        token: PLATFORM_TOKEN,
      },
      connector: { id: services.connectorId },
      cofense_threathq: {
        token_user: services.simulator.user,
        token_password: services.simulator.password,
        api_base_url: services.simulator.url,
      },
    }).map(([section, values]) =>
      `${section}:\n${
        Object.entries(values).map(([key, value]) => `  ${key}: "${value}"\n`)
          .join("")
      }`
    ).join("");
    const run = await check({}, {
      args: ["--config", "settings.yml"],
      files: { "settings.yml": yaml },
    });

    assert.match(lineOf(run, "settings"), /^ok .*sources: .*settings\.yml/);
    assert.match(lineOf(run, "threathq"), /^ok /);
    assert.match(lineOf(run, "opencti"), /^ok /);
  } finally {
    await services.stop();
  }
});

t("missing --config file fails settings", async () => {
  const run = await check({}, { args: ["--config=absent.yml"] });

  assert.is(run.code, 1);
  assert.match(lineOf(run, "settings"), /^FAIL/);
  assert.match(run.stdout, "file not found");
  assert.match(run.stdout, "absent.yml");
});

t("usage errors exit 2", async () => {
  const unknown = await check({}, { args: ["--verbose"] });
  const noValue = await check({}, { args: ["--config"] });

  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, 'unknown argument "--verbose"');
  assert.match(unknown.stderr, "check --help");
  assert.is(unknown.stdout, "");
  assert.is(noValue.code, 2);
  assert.match(noValue.stderr, "missing value after --config");
});

t("--help and --version exit 0", async () => {
  const help = await check({}, { args: ["--help"] });
  const version = await check({}, { args: ["--version"] });

  assert.is(help.code, 0);
  assert.match(help.stdout, "Usage: threathq-connector check [--config PATH]");
  assert.match(
    help.stdout.replace(/\s+/g, " "),
    "Exit status: 0 when no check failed, 1 otherwise",
  );
  assert.is(version.code, 0);
  assert.match(version.stdout, /^threathq-connector \d+\.\d+\.\d+\n$/);
});

// ThreatHQ

t("bad ThreatHQ credentials fail", async () => {
  const services = await startServices();
  try {
    const run = await check({
      ...services.env,
      COFENSE_THREATHQ_TOKEN_PASSWORD: "wrong-thq-password-66",
    });
    const line = lineOf(run, "threathq");

    assert.is(run.code, 1);
    assert.match(line, /^FAIL {2}threathq {3}credentials rejected \(HTTP 401/);
    assert.match(line, "fix: check COFENSE_THREATHQ_TOKEN_USER and");
    assert.match(lineOf(run, "opencti"), /^ok /);
    assert.is(services.simulator.requestsTo("feed").length, 1);
    assertNoSecrets(run, ["wrong-thq-password-66", PLATFORM_TOKEN]);
  } finally {
    await services.stop();
  }
});

t("ThreatHQ down fails", async () => {
  const services = await startServices();
  try {
    const url = `http://127.0.0.1:${closedPort()}/apiv1/`;
    const run = await check({
      ...services.env,
      COFENSE_THREATHQ_API_BASE_URL: url,
    });
    const line = lineOf(run, "threathq");

    assert.is(run.code, 1);
    assert.match(line, `FAIL  threathq   ${url} is unreachable (`);
    assert.match(line, "fix: check COFENSE_THREATHQ_API_BASE_URL");
  } finally {
    await services.stop();
  }
});

t("silent ThreatHQ times out", async () => {
  const services = await startServices();
  try {
    services.simulator.injectFault({ kind: "timeout", times: Infinity });
    const run = await check(services.env, {
      dependencies: { timeoutMs: 300 },
    });

    assert.is(run.code, 1);
    assert.match(lineOf(run, "threathq"), "no response from");
    assert.match(lineOf(run, "threathq"), "within 300 ms");
  } finally {
    await services.stop();
  }
});

t("wrong ThreatHQ path fails with 404", async () => {
  const services = await startServices();
  try {
    const run = await check({
      ...services.env,
      COFENSE_THREATHQ_API_BASE_URL: `${services.simulator.origin}/api/`,
    });
    const line = lineOf(run, "threathq");

    assert.is(run.code, 1);
    assert.match(line, "returned HTTP 404");
    assert.match(line, "fix: check COFENSE_THREATHQ_API_BASE_URL");
  } finally {
    await services.stop();
  }
});

t("ThreatHQ with unknown CA names DENO_CERT", async () => {
  const services = await startServices();
  const certificates = await createTestCertificates();
  const proxy = startTcpProxy({
    target: `127.0.0.1:${services.simulator.port}`,
    tls: { cert: certificates.certPem, key: certificates.keyPem },
  });
  try {
    const run = await check({
      ...services.env,
      COFENSE_THREATHQ_API_BASE_URL: `https://127.0.0.1:${proxy.port}/apiv1/`,
    });
    const line = lineOf(run, "threathq");

    assert.is(run.code, 1);
    assert.match(line, "failed verification");
    assert.match(line, "DENO_CERT=<path to CA file>");
  } finally {
    await proxy.stop();
    await certificates.remove();
    await services.stop();
  }
});

// OpenCTI

t("platform down fails and skips broker", async () => {
  const services = await startServices();
  try {
    const url = `http://127.0.0.1:${closedPort()}`;
    const run = await check({ ...services.env, OPENCTI_URL: url });
    const line = lineOf(run, "opencti");

    assert.is(run.code, 1);
    assert.match(line, `FAIL  opencti    ${url}/graphql is unreachable (`);
    assert.match(line, "fix: check OPENCTI_URL");
    assert.match(line, "still starting");
    assert.match(lineOf(run, "rabbitmq"), /^skip .*the platform check failed/);
    assert.match(lineOf(run, "rabbitmq"), "set MQ_HOST, MQ_USER and MQ_PASS");
  } finally {
    await services.stop();
  }
});

t("token rejected fails", async () => {
  const services = await startServices();
  try {
    const run = await check({
      ...services.env,
      OPENCTI_TOKEN: "rejected-token-2b8e",
    });
    const line = lineOf(run, "opencti");

    assert.is(run.code, 1);
    assert.match(line, /^FAIL {2}opencti {4}token rejected \(AUTH_REQUIRED/);
    assert.match(line, "fix: check OPENCTI_TOKEN");
    assertNoSecrets(run, ["rejected-token-2b8e"]);
  } finally {
    await services.stop();
  }
});

t("self-signed platform fails naming OPENCTI_SSL_VERIFY", async () => {
  const certificate = await selfSignedCertificate();
  const services = await startServices({
    tls: { cert: certificate.cert, key: certificate.key },
  });
  try {
    const run = await check(services.env);
    const line = lineOf(run, "opencti");

    assert.is(run.code, 1);
    assert.match(line, `TLS certificate of ${services.standin.url}/graphql`);
    assert.match(line, "failed verification");
    assert.match(line, "fix: ");
    assert.match(line, "OPENCTI_SSL_VERIFY=<path to CA file>");
  } finally {
    await services.stop();
    await certificate.remove();
  }
});

t("platform CA in OPENCTI_SSL_VERIFY passes", async () => {
  const certificates: TestCertificates = await createTestCertificates();
  const services = await startServices({
    tls: { cert: certificates.certPem, key: certificates.keyPem },
  });
  try {
    const run = await check({
      ...services.env,
      OPENCTI_SSL_VERIFY: certificates.caPath,
    });

    assert.match(lineOf(run, "opencti"), /^ok {4}opencti {4}OpenCTI 6\.9\.17/);
    assert.match(lineOf(run, "opencti"), services.standin.url);
  } finally {
    await services.stop();
    await certificates.remove();
  }
});

t("unreadable CA file fails", async () => {
  const services = await startServices();
  try {
    const run = await check({
      ...services.env,
      OPENCTI_SSL_VERIFY: "/nonexistent/ca.pem",
    });
    const line = lineOf(run, "opencti");

    assert.is(run.code, 1);
    assert.match(line, "cannot be read: /nonexistent/ca.pem");
    assert.match(line, "fix: give the path of a PEM file");
  } finally {
    await services.stop();
  }
});

t("user without CONNECTORAPI fails", async () => {
  const services = await startServices({
    user: { capabilities: ["KNOWLEDGE"] },
  });
  try {
    const run = await check(services.env);
    const line = lineOf(run, "opencti");

    assert.is(run.code, 1);
    assert.match(line, "lacks the CONNECTORAPI capability");
    assert.match(line, "fix: give the user the Connector role");
  } finally {
    await services.stop();
  }
});

t("platform older than 6.8 fails", async () => {
  const services = await startServices({ version: "6.7.4" });
  try {
    const run = await check(services.env);

    assert.is(run.code, 1);
    assert.match(lineOf(run, "opencti"), "OpenCTI 6.7.4 is older than 6.8");
  } finally {
    await services.stop();
  }
});

t("platform answering 503 fails", async () => {
  const services = await startServices();
  try {
    services.standin.failNext("healthCheck", {
      status: 503,
      body: "platform is starting",
    });
    const run = await check(services.env);
    const line = lineOf(run, "opencti");

    assert.is(run.code, 1);
    assert.match(line, "returned HTTP 503: platform is starting");
    assert.match(line, "still starting");
  } finally {
    await services.stop();
  }
});

t("forbidden connector query fails", async () => {
  const services = await startServices();
  try {
    services.standin.failNext("CheckConnector", {
      code: "FORBIDDEN_ACCESS",
      message: "You are not allowed to do this.",
    });
    const run = await check(services.env);
    const line = lineOf(run, "opencti");

    assert.is(run.code, 1);
    assert.match(line, "may not read connectors (FORBIDDEN_ACCESS");
    assert.match(line, "fix: give the user the Connector role");
  } finally {
    await services.stop();
  }
});

t("unregistered connector skips broker", async () => {
  const services = await startServices();
  try {
    const run = await check(services.env);

    assert.is(run.code, 0);
    assert.match(lineOf(run, "opencti"), /^ok .*token accepted for user/);
    assert.match(
      lineOf(run, "opencti"),
      `connector ${services.connectorId} not registered yet`,
    );
    assert.match(
      lineOf(run, "rabbitmq"),
      `skip  rabbitmq   connector ${services.connectorId} is not registered yet`,
    );
    assert.match(lineOf(run, "rabbitmq"), "set MQ_HOST, MQ_USER and MQ_PASS");
    assert.match(run.stdout, /5 checks: 3 ok, 0 failed, 2 skipped\n$/);
  } finally {
    await services.stop();
  }
});

t("check sends queries only", async () => {
  const services = await startServices();
  try {
    await check(services.env);
    const operations = services.standin.calls.map((call) => call.operationName);

    assert.equal(operations, ["healthCheck", "Me", "CheckConnector"]);
    for (const call of services.standin.calls) {
      assert.match(call.query.trimStart(), /^query /, call.operationName);
      assert.is(call.status, 200, call.operationName);
      assert.equal(call.errorCodes, [], call.operationName);
    }
    assert.is(services.standin.connectors.size, 0);
  } finally {
    await services.stop();
  }
});

if (schemaAvailable()) {
  t("connector query valid against schema", async () => {
    const services = await startServices();
    try {
      await check(services.env);
      const [call] = services.standin.callsOf("CheckConnector");

      assert.ok(services.standin.validating);
      assert.is(call.status, 200);
      assert.equal(call.errorCodes, []);
    } finally {
      await services.stop();
    }
  });
} else {
  console.log("skipped: ../shared not found (schema validation)");
  t.skip("connector query valid against schema", () => {});
}

// RabbitMQ

brokerTest("all checks pass with a registered connector", async () => {
  const services = await startServices();
  const directory = await Deno.makeTempDir({ prefix: "threathq-out-" });
  try {
    await register(services);
    const before = services.standin.calls.length;
    const run = await check({
      ...services.env,
      CONNECTOR_SEND_TO_DIRECTORY: "true",
      CONNECTOR_SEND_TO_DIRECTORY_PATH: directory,
    });
    const after = services.standin.calls.slice(before);

    assert.is(run.code, 0, run.stdout);
    for (const name of ["settings", "threathq", "opencti", "rabbitmq"]) {
      assert.match(lineOf(run, name), /^ok /, name);
    }
    assert.match(lineOf(run, "opencti"), 'registered as "Cofense ThreatHQ"');
    assert.match(
      lineOf(run, "rabbitmq"),
      `connected to amqp://127.0.0.1:5672/%2F`,
    );
    assert.match(
      lineOf(run, "rabbitmq"),
      `broker settings from the platform for connector ${services.connectorId}`,
    );
    assert.match(
      lineOf(run, "directory"),
      `ok    directory  ${directory} is writable`,
    );
    assert.equal([...Deno.readDirSync(directory)], []);
    assert.match(run.stdout, /5 checks: 5 ok, 0 failed, 0 skipped\n$/);
    assert.equal(
      after.map((call) => call.operationName),
      ["healthCheck", "Me", "CheckConnector"],
    );
    assert.is(
      services.standin.connectors.get(services.connectorId)!.registrations,
      1,
    );
  } finally {
    await services.stop();
    await Deno.remove(directory, { recursive: true });
  }
});

brokerTest("MQ settings apply without registration", async () => {
  const services = await startServices();
  try {
    const run = await check({ ...services.env, ...brokerEnv() });
    const line = lineOf(run, "rabbitmq");

    assert.is(run.code, 0, run.stdout);
    assert.match(line, `ok    rabbitmq   connected to amqp://${BROKER_HOST}:`);
    assert.match(line, "from the MQ_* settings; connector");
    assert.match(line, "is not registered yet");
  } finally {
    await services.stop();
  }
});

brokerTest("MQ settings apply when the platform is down", async () => {
  const services = await startServices();
  try {
    const run = await check({
      ...services.env,
      ...brokerEnv(),
      OPENCTI_URL: `http://127.0.0.1:${closedPort()}`,
    });

    assert.is(run.code, 1);
    assert.match(lineOf(run, "opencti"), /^FAIL/);
    assert.match(
      lineOf(run, "rabbitmq"),
      /^ok .*from the MQ_\* settings; the platform check failed/,
    );
  } finally {
    await services.stop();
  }
});

t("broker unreachable fails", async () => {
  const services = await startServices();
  try {
    const port = closedPort();
    const run = await check({
      ...services.env,
      ...brokerEnv(),
      MQ_HOST: "127.0.0.1",
      MQ_PORT: String(port),
    });
    const line = lineOf(run, "rabbitmq");

    assert.is(run.code, 1);
    assert.match(
      line,
      `FAIL  rabbitmq   amqp://127.0.0.1:${port}/%2F is unreachable (`,
    );
    assert.match(line, "ECONNREFUSED");
    assert.match(line, "fix: check MQ_HOST and MQ_PORT");
  } finally {
    await services.stop();
  }
});

t("silent broker times out", async () => {
  const services = await startServices();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const heldConnections: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) heldConnections.push(conn);
  })().catch(() => {});
  try {
    const run = await check({
      ...services.env,
      ...brokerEnv(),
      MQ_HOST: "127.0.0.1",
      MQ_PORT: String((listener.addr as Deno.NetAddr).port),
    }, { dependencies: { timeoutMs: 300 } });
    const line = lineOf(run, "rabbitmq");

    assert.is(run.code, 1);
    assert.match(line, "no AMQP handshake with amqp://127.0.0.1:");
    assert.match(line, "within 300 ms");
    assert.match(line, "RabbitMQ's AMQP port");
  } finally {
    listener.close();
    for (const conn of heldConnections) conn.close();
    await accepting;
    await services.stop();
  }
});

brokerTest("wrong broker credentials fail", async () => {
  const services = await startServices();
  try {
    const run = await check({
      ...services.env,
      ...brokerEnv(),
      MQ_PASS: "wrong-mq-pass-19c4",
    });
    const line = lineOf(run, "rabbitmq");

    assert.is(run.code, 1);
    assert.match(line, 'refused the login of user "guest" (ACCESS_REFUSED');
    assert.match(line, "fix: check MQ_USER and MQ_PASS");
    assertNoSecrets(run, ["wrong-mq-pass-19c4"]);
  } finally {
    await services.stop();
  }
});

brokerTest("wrong platform broker password stays hidden", async () => {
  const services = await startServices({
    connection: { pass: "platform-broker-pass-7e2d" },
  });
  try {
    await register(services);
    const run = await check(services.env);
    const line = lineOf(run, "rabbitmq");

    assert.is(run.code, 1);
    assert.match(line, "ACCESS_REFUSED");
    assert.match(line, "fix: set MQ_USER and MQ_PASS");
    assertNoSecrets(run, ["platform-broker-pass-7e2d"]);
  } finally {
    await services.stop();
  }
});

brokerTest("unreachable platform broker names MQ_HOST", async () => {
  const port = closedPort();
  const services = await startServices({ connection: { port } });
  try {
    await register(services);
    const run = await check(services.env);
    const line = lineOf(run, "rabbitmq");

    assert.is(run.code, 1);
    assert.match(line, `amqp://127.0.0.1:${port}/%2F is unreachable`);
    assert.match(line, "may resolve only inside the platform's network");
    assert.match(line, "set MQ_HOST and MQ_PORT");
  } finally {
    await services.stop();
  }
});

brokerTest("MQ_HOST overrides the platform's broker", async () => {
  const services = await startServices({
    connection: { host: "127.0.0.1", port: closedPort() },
  });
  try {
    await register(services);
    const run = await check({
      ...services.env,
      MQ_HOST: BROKER_HOST,
      MQ_PORT: String(BROKER_PORT),
    });
    const line = lineOf(run, "rabbitmq");

    assert.is(run.code, 0, run.stdout);
    assert.match(line, `connected to amqp://${BROKER_HOST}:${BROKER_PORT}/`);
    assert.match(line, "with MQ_HOST, MQ_PORT");
  } finally {
    await services.stop();
  }
});

brokerTest("broker TLS needs MQ_USE_SSL_CA", async () => {
  const services = await startServices();
  const certificates = await createTestCertificates();
  const proxy = startTcpProxy({
    target: `${BROKER_HOST}:${BROKER_PORT}`,
    tls: { cert: certificates.certPem, key: certificates.keyPem },
  });
  const tlsEnv = {
    ...services.env,
    ...brokerEnv(),
    MQ_HOST: "localhost",
    MQ_PORT: String(proxy.port),
    MQ_USE_SSL: "true",
  };
  try {
    const withoutCa = await check(tlsEnv);
    const withCa = await check({
      ...tlsEnv,
      MQ_USE_SSL_CA: certificates.caPath,
    });
    const failedLine = lineOf(withoutCa, "rabbitmq");

    assert.is(withoutCa.code, 1);
    assert.match(
      failedLine,
      `TLS certificate of amqps://localhost:${proxy.port}/%2F failed verification`,
    );
    assert.match(failedLine, "fix: ");
    assert.match(failedLine, "MQ_USE_SSL_CA=<path to CA file>");
    assert.is(withCa.code, 0, withCa.stdout);
    assert.match(
      lineOf(withCa, "rabbitmq"),
      `ok    rabbitmq   connected to amqps://localhost:${proxy.port}/`,
    );
  } finally {
    await proxy.stop();
    await certificates.remove();
    await services.stop();
  }
});

t("unreadable broker CA fails", async () => {
  const services = await startServices();
  try {
    const run = await check({
      ...services.env,
      ...brokerEnv(),
      MQ_USE_SSL: "true",
      MQ_USE_SSL_CA: "/nonexistent/broker-ca.pem",
    });
    const line = lineOf(run, "rabbitmq");

    assert.is(run.code, 1);
    assert.match(
      line,
      "FAIL  rabbitmq   MQ_USE_SSL_CA names a file that cannot be read: /nonexistent/broker-ca.pem",
    );
    assert.match(line, "fix: give the path of a PEM file");
  } finally {
    await services.stop();
  }
});

t("api protocol skips broker", async () => {
  const services = await startServices();
  try {
    const run = await check({
      ...services.env,
      ...brokerEnv(),
      CONNECTOR_QUEUE_PROTOCOL: "api",
    });

    assert.is(run.code, 0);
    assert.match(
      lineOf(run, "rabbitmq"),
      "skip  rabbitmq   not used: CONNECTOR_QUEUE_PROTOCOL is api",
    );
  } finally {
    await services.stop();
  }
});

// Directory

/** Settings for directory-only mode with a ThreatHQ simulator. */
function directoryOnly(
  path: string,
): { simulator: ThreatHqSimulator; env: Record<string, string> } {
  const simulator = startThreatHqSimulator();
  return {
    simulator,
    env: {
      COFENSE_THREATHQ_TOKEN_USER: simulator.user,
      COFENSE_THREATHQ_TOKEN_PASSWORD: simulator.password,
      COFENSE_THREATHQ_API_BASE_URL: simulator.url,
      CONNECTOR_SEND_TO_QUEUE: "false",
      CONNECTOR_SEND_TO_DIRECTORY: "true",
      CONNECTOR_SEND_TO_DIRECTORY_PATH: path,
    },
  };
}

t("directory-only mode skips platform and broker", async () => {
  const root = await Deno.makeTempDir({ prefix: "threathq-out-" });
  const { simulator, env } = directoryOnly(join(root, "a", "b"));
  try {
    const run = await check(env);
    const line = lineOf(run, "directory");

    assert.is(run.code, 0, run.stdout);
    assert.match(lineOf(run, "opencti"), "skip  opencti    not used");
    assert.match(lineOf(run, "rabbitmq"), "skip  rabbitmq   not used");
    assert.match(line, `${join(root, "a", "b")} does not exist yet`);
    assert.match(line, `creates it in ${root}, which is writable`);
    assert.match(line, "no saved state yet");
    assert.equal([...Deno.readDirSync(root)], []);
  } finally {
    await simulator.close();
    await Deno.remove(root, { recursive: true });
  }
});

t("invalid state file fails", async () => {
  const root = await Deno.makeTempDir({ prefix: "threathq-out-" });
  await Deno.writeTextFile(join(root, ".threathq-connector-state"), "{bad");
  const { simulator, env } = directoryOnly(root);
  try {
    const run = await check(env);
    const line = lineOf(run, "directory");

    assert.is(run.code, 1);
    assert.match(line, "state file");
    assert.match(line, "is invalid (not JSON:");
    assert.match(line, "fix: fix its JSON, or delete it");
  } finally {
    await simulator.close();
    await Deno.remove(root, { recursive: true });
  }
});

t("valid state file passes", async () => {
  const root = await Deno.makeTempDir({ prefix: "threathq-out-" });
  await Deno.writeTextFile(
    join(root, ".threathq-connector-state"),
    JSON.stringify({ position: "abc" }),
  );
  const { simulator, env } = directoryOnly(root);
  try {
    const run = await check(env);

    assert.is(run.code, 0, run.stdout);
    assert.match(lineOf(run, "directory"), "is valid");
  } finally {
    await simulator.close();
    await Deno.remove(root, { recursive: true });
  }
});

t("directory path under a file fails", async () => {
  const root = await Deno.makeTempDir({ prefix: "threathq-out-" });
  await Deno.writeTextFile(join(root, "file"), "");
  const { simulator, env } = directoryOnly(join(root, "file", "out"));
  try {
    const run = await check(env);
    const line = lineOf(run, "directory");

    assert.is(run.code, 1);
    assert.match(line, `${join(root, "file")} is not a directory`);
    assert.match(line, "fix: set CONNECTOR_SEND_TO_DIRECTORY_PATH");
  } finally {
    await simulator.close();
    await Deno.remove(root, { recursive: true });
  }
});

t("permission denied on probe fails", async () => {
  const root = await Deno.makeTempDir({ prefix: "threathq-out-" });
  const { simulator, env } = directoryOnly(root);
  try {
    const run = await check(env, {
      dependencies: {
        createProbeFile: () =>
          Promise.reject(new Deno.errors.PermissionDenied("EACCES")),
      },
    });

    assert.is(run.code, 1);
    assert.match(
      lineOf(run, "directory"),
      `${root} is not writable (permission denied)`,
    );
  } finally {
    await simulator.close();
    await Deno.remove(root, { recursive: true });
  }
});

/** Returns whether file modes stop this process, which is not so for root. */
async function modesApply(): Promise<boolean> {
  const dir = await Deno.makeTempDir({ prefix: "threathq-mode-" });
  try {
    await Deno.chmod(dir, 0o500);
    await Deno.writeTextFile(join(dir, "probe"), "");
    return false;
  } catch (error) {
    return error instanceof Deno.errors.PermissionDenied;
  } finally {
    await Deno.chmod(dir, 0o700);
    await Deno.remove(dir, { recursive: true });
  }
}

if (await modesApply()) {
  t("read-only directory fails", async () => {
    const root = await Deno.makeTempDir({ prefix: "threathq-out-" });
    await Deno.chmod(root, 0o500);
    const { simulator, env } = directoryOnly(root);
    try {
      const run = await check(env);

      assert.is(run.code, 1);
      assert.match(lineOf(run, "directory"), `${root} is not writable`);
    } finally {
      await simulator.close();
      await Deno.chmod(root, 0o700);
      await Deno.remove(root, { recursive: true });
    }
  });
} else {
  console.log("skipped: file modes do not stop this user (root)");
  t.skip("read-only directory fails", () => {});
}

// Output

t("redaction covers URL-encoded secrets", () => {
  const text = redactSecrets("pass=p%40ss%2Fword and p@ss/word", [
    "p@ss/word",
  ]);

  assert.is(text, "pass=*** and ***");
});

t("redaction hides URL credentials", () => {
  const text = redactSecrets("http://user:pw@platform.example.com/x", []);

  assert.is(text, "http://***@platform.example.com/x");
});

t("redaction replaces longer secrets first", () => {
  assert.is(redactSecrets("abcd-long abcd", ["abcd", "abcd-long"]), "*** ***");
});

// Interruption and permissions

t("interrupted check exits 1", async () => {
  const services = await startServices();
  const controller = new AbortController();
  controller.abort("SIGINT");
  try {
    const run = await check(services.env, { signal: controller.signal });

    assert.is(run.code, 1);
    assert.match(lineOf(run, "threathq"), "FAIL  threathq   interrupted");
    assert.match(lineOf(run, "opencti"), "FAIL  opencti    interrupted");
    assert.match(run.stderr, "check: interrupted");
  } finally {
    await services.stop();
  }
});

/** Returns the variables of this process with these names that are set. */
function inheritedEnv(names: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of names) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** Runs `check` in a child process with the connector's runtime permissions. */
async function spawnCheck(
  env: Record<string, string>,
  cwd: string,
): Promise<CheckRun> {
  const script = join(cwd, "check_main.ts");
  const checkModule = new URL("../../src/cli/check.ts", import.meta.url).href;
  await Deno.writeTextFile(
    script,
    `import { runCheck } from ${JSON.stringify(checkModule)};
const encoder = new TextEncoder();
Deno.exit(await runCheck(Deno.args, {
  env: Deno.env.toObject(),
  cwd: Deno.cwd(),
  stdin: Deno.stdin.readable,
  stdout: (text) => Deno.stdout.writeSync(encoder.encode(text)),
  stderr: (text) => Deno.stderr.writeSync(encoder.encode(text)),
  signal: new AbortController().signal,
}));
`,
  );
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      join(REPOSITORY, "deno.json"),
      ...permissionFlags(),
      script,
    ],
    cwd,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

brokerTest("child process with runtime permissions and DENO_CERT", async () => {
  const services = await startServices();
  const certificates = await createTestCertificates();
  const proxy = startTcpProxy({
    target: `127.0.0.1:${services.simulator.port}`,
    tls: { cert: certificates.certPem, key: certificates.keyPem },
  });
  const cwd = await Deno.makeTempDir({ prefix: "threathq-check-child-" });
  try {
    await register(services);
    const run = await spawnCheck({
      ...services.env,
      COFENSE_THREATHQ_API_BASE_URL: `https://127.0.0.1:${proxy.port}/apiv1/`,
      CONNECTOR_SEND_TO_DIRECTORY: "true",
      CONNECTOR_SEND_TO_DIRECTORY_PATH: join(cwd, "out"),
      DENO_CERT: certificates.caPath,
      ...inheritedEnv(["HOME", "PATH", "DENO_DIR", "XDG_CACHE_HOME"]),
    }, cwd);

    assert.is(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(
      lineOf(run, "threathq"),
      `ok    threathq   credentials accepted by https://127.0.0.1:${proxy.port}/apiv1/`,
    );
    assert.match(lineOf(run, "rabbitmq"), /^ok /);
    assert.match(lineOf(run, "directory"), /^ok /);
    assertNoSecrets(run, [PLATFORM_TOKEN, services.simulator.password]);
  } finally {
    await proxy.stop();
    await certificates.remove();
    await services.stop();
    await Deno.remove(cwd, { recursive: true });
  }
});

t.run();
