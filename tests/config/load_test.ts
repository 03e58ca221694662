import { suite } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import {
  ConfigError,
  loadSettings,
  logSettingsSources,
  secretValues,
} from "../../src/config/load.ts";
import { createMemoryLogger } from "../../src/log/logger.ts";

const t = suite("config: loading settings");

const CONNECTOR_ID = "1f0f3a52-8a29-4c55-9c1e-3b0d1c6f2a7e";

/** The minimum a queue-mode run needs, as environment variables. */
const RUN_ENV = {
  OPENCTI_URL: "http://opencti.example.com:8080",
  OPENCTI_TOKEN: "platform-token-secret",
  CONNECTOR_ID,
  COFENSE_THREATHQ_TOKEN_USER: "token-user-secret",
  COFENSE_THREATHQ_TOKEN_PASSWORD: "token-password-secret",
};

async function withFiles(
  files: Record<string, string>,
  body: (cwd: string) => Promise<void>,
): Promise<void> {
  const cwd = await Deno.makeTempDir({ prefix: "threathq-config-" });
  try {
    for (const [name, text] of Object.entries(files)) {
      await Deno.writeTextFile(join(cwd, name), text);
    }
    await body(cwd);
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}

async function configErrorOf(promise: Promise<unknown>): Promise<ConfigError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

t("environment alone, with defaults", async () => {
  await withFiles({}, async (cwd) => {
    const loaded = await loadSettings({ cwd, env: RUN_ENV, mode: "run" });
    const { settings } = loaded;

    assert.is(settings.opencti.url, RUN_ENV.OPENCTI_URL);
    assert.is(settings.connector.id, CONNECTOR_ID);
    assert.is(settings.connector.name, "Cofense ThreatHQ");
    assert.equal(settings.connector.scope, ["Cofense ThreatHQ"]);
    assert.is(settings.connector.duration_period, 5 * 3_600_000);
    assert.is(settings.connector.queue_threshold, 500);
    assert.is(settings.connector.send_to_queue, true);
    assert.is(
      settings.cofense_threathq.api_base_url,
      "https://www.threathq.com/apiv1/",
    );
    assert.is(settings.cofense_threathq.api_leaky_bucket_rate, 10);
    assert.is(settings.cofense_threathq.api_retry, 5);
    assert.is(settings.cofense_threathq.api_backoff, 30_000);
    assert.is(settings.cofense_threathq.api_timeout, 60_000);
    assert.equal(settings.cofense_threathq.import_start_date, {
      kind: "before_run",
      durationMs: 30 * 86_400_000,
    });
    assert.equal(settings.cofense_threathq.impact_to_exclude, []);
    assert.is(settings.cofense_threathq.tlp_level, "amber+strict");
    assert.equal(loaded.sources, ["environment"]);
    assert.is(loaded.origins["opencti.url"], "environment");
    assert.is(loaded.origins["connector.name"], "default");
  });
});

t("config.yml alone", async () => {
  const yaml = `
opencti:
  url: http://yaml.example.com
  token: yaml-token
connector:
  id: ${CONNECTOR_ID}
  scope: [Cofense ThreatHQ, extra]
  run_and_terminate: yes
cofense_threathq:
  token_user: user
  token_password: pass
  api_retry: 2
  impact_to_exclude: None, minor
`;
  await withFiles({ "config.yml": yaml }, async (cwd) => {
    const { settings, sources } = await loadSettings({
      cwd,
      env: {},
      mode: "run",
    });
    assert.is(settings.opencti.url, "http://yaml.example.com");
    assert.equal(settings.connector.scope, ["Cofense ThreatHQ", "extra"]);
    assert.is(settings.connector.run_and_terminate, true);
    assert.is(settings.cofense_threathq.api_retry, 2);
    assert.equal(settings.cofense_threathq.impact_to_exclude, [
      "None",
      "Minor",
    ]);
    assert.equal(sources, ["config.yml", "environment"]);
  });
});

t(".env alone", async () => {
  const dotenv = Object.entries(RUN_ENV).map(([k, v]) => `${k}=${v}`).join(
    "\n",
  ) + "\nCOFENSE_THREATHQ_TLP_LEVEL=GREEN\n";
  await withFiles({ ".env": dotenv }, async (cwd) => {
    const { settings, origins } = await loadSettings({
      cwd,
      env: {},
      mode: "run",
    });
    assert.is(settings.cofense_threathq.tlp_level, "green");
    assert.is(origins["opencti.token"], ".env");
  });
});

t(".env wins over config.yml, which wins over the environment", async () => {
  const files = {
    ".env": "CONNECTOR_NAME=from dotenv\n",
    "config.yml": "connector:\n  name: from yaml\n  log_level: debug\n",
  };
  const env = {
    ...RUN_ENV,
    CONNECTOR_NAME: "from env",
    CONNECTOR_LOG_LEVEL: "error",
    CONNECTOR_QUEUE_THRESHOLD: "250",
  };
  await withFiles(files, async (cwd) => {
    const { settings, origins, sources } = await loadSettings({
      cwd,
      env,
      mode: "run",
    });
    assert.is(settings.connector.name, "from dotenv");
    assert.is(settings.connector.log_level, "debug");
    assert.is(settings.connector.queue_threshold, 250);
    assert.is(origins["connector.name"], ".env");
    assert.is(origins["connector.log_level"], "config.yml");
    assert.is(origins["connector.queue_threshold"], "environment");
    assert.equal(sources, [".env", "config.yml", "environment"]);
  });
});

t("an empty value falls through to the next source", async () => {
  await withFiles({ ".env": "CONNECTOR_NAME=\n" }, async (cwd) => {
    const { settings } = await loadSettings({
      cwd,
      env: { ...RUN_ENV, CONNECTOR_NAME: "from env" },
      mode: "run",
    });
    assert.is(settings.connector.name, "from env");
  });
});

t("--config names the one file, by extension", async () => {
  const files = {
    ".env": "CONNECTOR_NAME=ignored dotenv\n",
    "config.yml": "connector:\n  name: ignored yaml\n",
    "custom.yaml": "connector:\n  name: from custom yaml\n",
    "custom.env": "CONNECTOR_NAME=from custom env\n",
  };
  await withFiles(files, async (cwd) => {
    const fromYaml = await loadSettings({
      cwd,
      env: RUN_ENV,
      configPath: join(cwd, "custom.yaml"),
      mode: "run",
    });
    assert.is(fromYaml.settings.connector.name, "from custom yaml");
    assert.equal(fromYaml.sources, [join(cwd, "custom.yaml"), "environment"]);

    const fromEnv = await loadSettings({
      cwd,
      env: RUN_ENV,
      configPath: join(cwd, "custom.env"),
      mode: "run",
    });
    assert.is(fromEnv.settings.connector.name, "from custom env");
  });
});

t("--config with a missing file is an error", async () => {
  await withFiles({}, async (cwd) => {
    const error = await configErrorOf(loadSettings({
      cwd,
      env: RUN_ENV,
      configPath: join(cwd, "absent.yml"),
      mode: "run",
    }));
    assert.match(error.message, "file not found");
    assert.match(error.message, "absent.yml");
    assert.match(error.message, "  - --config: file not found");
  });
});

t("unknown keys and variables are ignored", async () => {
  const yaml = "unknown_section:\n  a: 1\nconnector:\n  unknown_key: 2\n";
  await withFiles({ "config.yml": yaml }, async (cwd) => {
    const { settings } = await loadSettings({
      cwd,
      env: { ...RUN_ENV, CONNECTOR_SOMETHING_ELSE: "x" },
      mode: "run",
    });
    assert.is(settings.connector.name, "Cofense ThreatHQ");
  });
});

t("misspelled keys in files warn with the closest name", async () => {
  const files = {
    ".env": "CONNECTOR_DURATON_PERIOD=PT1H\nOTHER_TOOL_SETTING=1\n",
    "config.yml":
      "cofense_threathq:\n  import_start_dat: P1D\nother_tool:\n  key: 1\n",
  };
  await withFiles(files, async (cwd) => {
    const { warnings, settings } = await loadSettings({
      cwd,
      env: { ...RUN_ENV, CONNECTOR_UNKNOWN_IN_ENV: "x" },
      mode: "run",
    });
    const unknown = warnings.filter((w) =>
      w.message === "Unknown setting ignored"
    );
    assert.equal(unknown.map((w) => w.attributes), [
      {
        source: ".env",
        key: "CONNECTOR_DURATON_PERIOD",
        closest_setting: "CONNECTOR_DURATION_PERIOD",
      },
      {
        source: "config.yml",
        key: "cofense_threathq.import_start_dat",
        closest_setting: "cofense_threathq.import_start_date",
      },
    ]);
    assert.is(settings.connector.duration_period, 5 * 3_600_000);
  });
});

t("ChangeMe counts as no value", async () => {
  const yaml = "opencti:\n  token: ChangeMe\nconnector:\n  id: ChangeMe\n";
  await withFiles({ "config.yml": yaml }, async (cwd) => {
    const { settings, origins } = await loadSettings({
      cwd,
      env: RUN_ENV,
      mode: "run",
    });
    assert.is(settings.opencti.token, RUN_ENV.OPENCTI_TOKEN);
    assert.is(settings.connector.id, CONNECTOR_ID);
    assert.is(origins["opencti.token"], "environment");

    const error = await configErrorOf(
      loadSettings({ cwd, env: {}, mode: "run" }),
    );
    assert.match(error.message, "opencti.token (OPENCTI_TOKEN): missing");
    assert.match(error.message, "ChangeMe counts as missing");
  });
});

t("invalid and missing settings come in one error", async () => {
  const env = { COFENSE_THREATHQ_API_RETRY: "-1", CONNECTOR_ID: "nope" };
  await withFiles({}, async (cwd) => {
    const error = await configErrorOf(loadSettings({ cwd, env, mode: "run" }));
    const paths = error.problems.map((problem) => problem.path);
    assert.equal(paths, [
      "connector.id",
      "cofense_threathq.api_retry",
      "opencti.url",
      "opencti.token",
      "cofense_threathq.token_user",
      "cofense_threathq.token_password",
    ]);
  });
});

t("one error lists every invalid value with source and form", async () => {
  const yaml = "cofense_threathq:\n  api_retry: -1\n";
  const env = {
    ...RUN_ENV,
    CONNECTOR_DURATION_PERIOD: "5 hours",
    COFENSE_THREATHQ_TLP_LEVEL: "purple",
    COFENSE_THREATHQ_API_LEAKY_BUCKET_RATE: "0",
  };
  await withFiles({ "config.yml": yaml }, async (cwd) => {
    const error = await configErrorOf(loadSettings({ cwd, env, mode: "run" }));
    assert.is(error.problems.length, 4);
    assert.match(error.message, "Invalid settings (4 problems)");
    assert.match(
      error.message,
      'cofense_threathq.api_retry (COFENSE_THREATHQ_API_RETRY) from config.yml: "-1" is invalid: expected a whole number 0 or more',
    );
    assert.match(
      error.message,
      'connector.duration_period (CONNECTOR_DURATION_PERIOD) from environment: "5 hours" is invalid',
    );
    assert.match(error.message, "expected one of clear, white, green");
    assert.match(error.message, "expected a number greater than 0");
  });
});

t("missing required settings are listed together", async () => {
  await withFiles({}, async (cwd) => {
    const error = await configErrorOf(
      loadSettings({ cwd, env: {}, mode: "run" }),
    );
    const paths = error.problems.map((problem) => problem.path);
    assert.equal(paths, [
      "opencti.url",
      "opencti.token",
      "connector.id",
      "cofense_threathq.token_user",
      "cofense_threathq.token_password",
    ]);
    assert.match(error.message, "missing; set OPENCTI_URL in .env");
  });
});

t("directory-only mode needs no OpenCTI settings", async () => {
  const env = {
    COFENSE_THREATHQ_TOKEN_USER: "user",
    COFENSE_THREATHQ_TOKEN_PASSWORD: "pass",
    CONNECTOR_SEND_TO_QUEUE: "false",
    CONNECTOR_SEND_TO_DIRECTORY: "true",
    CONNECTOR_SEND_TO_DIRECTORY_PATH: "/tmp/out",
  };
  await withFiles({}, async (cwd) => {
    const { settings } = await loadSettings({ cwd, env, mode: "run" });
    assert.is(settings.opencti.url, undefined);
    assert.is(settings.connector.id, undefined);
    assert.is(settings.connector.send_to_directory_path, "/tmp/out");
  });
});

t("directory output needs a path", async () => {
  const env = { ...RUN_ENV, CONNECTOR_SEND_TO_DIRECTORY: "true" };
  await withFiles({}, async (cwd) => {
    const error = await configErrorOf(loadSettings({ cwd, env, mode: "run" }));
    assert.is(error.problems[0].path, "connector.send_to_directory_path");
  });
});

t("sending nowhere is an error", async () => {
  const env = { ...RUN_ENV, CONNECTOR_SEND_TO_QUEUE: "no" };
  await withFiles({}, async (cwd) => {
    const error = await configErrorOf(loadSettings({ cwd, env, mode: "run" }));
    assert.match(error.message, "nothing would be sent");
  });
});

t("mapping mode requires no credentials", async () => {
  await withFiles({}, async (cwd) => {
    const { settings } = await loadSettings({
      cwd,
      env: { COFENSE_THREATHQ_TLP_LEVEL: "red" },
      mode: "mapping",
    });
    assert.is(settings.cofense_threathq.tlp_level, "red");
    assert.is(settings.cofense_threathq.token_user, undefined);
  });
});

t("errors never show a secret value", async () => {
  const env = {
    ...RUN_ENV,
    OPENCTI_CUSTOM_HEADERS: "broken-header-secret-value",
  };
  await withFiles({}, async (cwd) => {
    const error = await configErrorOf(loadSettings({ cwd, env, mode: "run" }));
    assert.match(error.message, "opencti.custom_headers");
    assert.match(error.message, "the value (hidden) is invalid");
    assert.not.match(error.message, "broken-header-secret-value");
  });
});

t("TLS verification cannot be switched off", async () => {
  const env = {
    ...RUN_ENV,
    OPENCTI_SSL_VERIFY: "false",
    MQ_USE_SSL_REJECT_UNAUTHORIZED: "false",
  };
  await withFiles({}, async (cwd) => {
    const error = await configErrorOf(loadSettings({ cwd, env, mode: "run" }));
    assert.match(error.message, "OPENCTI_SSL_VERIFY=<path to CA file (PEM)>");
    assert.match(error.message, "MQ_USE_SSL_CA=<path to CA file (PEM)>");
  });
});

t("a CA bundle path is kept for TLS verification", async () => {
  const env = { ...RUN_ENV, OPENCTI_SSL_VERIFY: "/etc/ssl/private-ca.pem" };
  await withFiles({}, async (cwd) => {
    const { settings } = await loadSettings({ cwd, env, mode: "run" });
    assert.is(settings.opencti.ssl_verify, "/etc/ssl/private-ca.pem");
  });
});

t("custom headers parse as name:value pairs", async () => {
  const env = { ...RUN_ENV, OPENCTI_CUSTOM_HEADERS: "X-A: 1; X-B:two:parts;" };
  await withFiles({}, async (cwd) => {
    const { settings } = await loadSettings({ cwd, env, mode: "run" });
    assert.equal(settings.opencti.custom_headers, [
      ["X-A", "1"],
      ["X-B", "two:parts"],
    ]);
  });
});

t("a start date over 90 days back warns", async () => {
  const now = Date.UTC(2026, 11, 4);
  await withFiles({}, async (cwd) => {
    const far = await loadSettings({
      cwd,
      env: { ...RUN_ENV, COFENSE_THREATHQ_IMPORT_START_DATE: "2026-01-01" },
      mode: "run",
      now,
    });
    assert.is(far.warnings.length, 1);
    assert.is(far.warnings[0].attributes.days_back, 337);

    const near = await loadSettings({
      cwd,
      env: { ...RUN_ENV, COFENSE_THREATHQ_IMPORT_START_DATE: "P90D" },
      mode: "run",
      now,
    });
    assert.is(near.warnings.length, 0);
  });
});

t("broken files give a clear error", async () => {
  await withFiles({ ".env": "not a valid line" }, async (cwd) => {
    const error = await configErrorOf(
      loadSettings({ cwd, env: RUN_ENV, mode: "run" }),
    );
    assert.match(error.message, ".env");
    assert.match(error.message, "line 1: expected KEY=value");
  });
  await withFiles({ "config.yml": "opencti: [unclosed" }, async (cwd) => {
    const error = await configErrorOf(
      loadSettings({ cwd, env: RUN_ENV, mode: "run" }),
    );
    assert.match(error.message, "config.yml");
    assert.match(error.message, "invalid YAML");
  });
});

t("source logging names sources and hides secrets", async () => {
  await withFiles({}, async (cwd) => {
    const loaded = await loadSettings({ cwd, env: RUN_ENV, mode: "run" });
    const logger = createMemoryLogger({
      secrets: secretValues(loaded.settings),
    });
    logSettingsSources(logger, loaded);

    const records = logger.records();
    assert.is(records[0].message, "Settings loaded");
    assert.equal(records[0].attributes, { sources: ["environment"] });
    assert.is(records[1].message, "Setting sources");
    const text = logger.lines.join("\n");
    for (
      const secret of Object.values(RUN_ENV).filter((v) => v.includes("secret"))
    ) {
      assert.not.match(text, secret);
    }
  });
});

t("secret values are collected for redaction", async () => {
  await withFiles({}, async (cwd) => {
    const loaded = await loadSettings({
      cwd,
      env: { ...RUN_ENV, OPENCTI_CUSTOM_HEADERS: "X-Key:header-secret" },
      mode: "run",
    });
    const secrets = secretValues(loaded.settings);
    assert.ok(secrets.includes("platform-token-secret"));
    assert.ok(secrets.includes("token-user-secret"));
    assert.ok(secrets.includes("token-password-secret"));
    assert.ok(secrets.includes("header-secret"));
  });
});

t.run();
