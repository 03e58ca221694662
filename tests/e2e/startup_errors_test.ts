import { suite } from "uvu";
import * as assert from "uvu/assert";
import { VERSION } from "../../src/version.ts";
import {
  createWorld,
  freePort,
  recordsWith,
  runInProcess,
} from "./e2e_support.ts";

const t = suite("e2e: startup errors");

const CANNOT_RUN = "Cannot run with these settings; fix them and start again";

t("unreadable platform CA exits 2", async () => {
  const world = await createWorld({ malware: 1 });
  try {
    const env = world.env({
      CONNECTOR_SEND_TO_QUEUE: "true",
      OPENCTI_URL: "http://127.0.0.1:9",
      OPENCTI_TOKEN: "token-never-sent",
      OPENCTI_SSL_VERIFY: `${world.cwd}/missing-ca.pem`,
    });
    const run = await runInProcess(world, env);

    assert.is(run.status, 2);
    const errors = recordsWith(run.records, CANNOT_RUN);
    assert.is(errors.length, 1);
    const attributes = errors[0].attributes as Record<string, unknown>;
    assert.is(attributes.error_type, "TlsSettingError");
    assert.match(String(attributes.error), "missing-ca.pem");
  } finally {
    await world.close();
  }
});

t("health port in use exits 2", async () => {
  const world = await createWorld({ malware: 1 });
  const port = freePort();
  const holder = Deno.listen({ hostname: "127.0.0.1", port });
  try {
    const run = await runInProcess(
      world,
      world.env({
        CONNECTOR_EXPOSE_METRICS: "true",
        CONNECTOR_METRICS_PORT: String(port),
      }),
    );

    assert.is(run.status, 2);
    const errors = recordsWith(run.records, CANNOT_RUN);
    assert.is(errors.length, 1);
    const attributes = errors[0].attributes as Record<string, unknown>;
    assert.is(attributes.error_type, "HealthServerError");
    assert.is(world.simulator.requests.length, 0);
  } finally {
    holder.close();
    await world.close();
  }
});

t("invalid metric prefix exits 2", async () => {
  const world = await createWorld({ malware: 1 });
  try {
    const run = await runInProcess(
      world,
      world.env({ CONNECTOR_METRICS_NAMESPACE: "9bad" }),
    );

    assert.is(run.status, 2);
    const errors = recordsWith(
      run.records,
      "Invalid settings; fix them and start again",
    );
    assert.is(errors.length, 1);
    assert.match(
      String(errors[0].attributes && JSON.stringify(errors[0].attributes)),
      "CONNECTOR_METRICS_NAMESPACE",
    );
  } finally {
    await world.close();
  }
});

t("missing ThreatHQ token exits 2", async () => {
  const world = await createWorld({ malware: 1 });
  try {
    const env = world.env();
    delete env.COFENSE_THREATHQ_TOKEN_USER;
    const run = await runInProcess(world, env);

    assert.is(run.status, 2);
    const errors = recordsWith(
      run.records,
      "Invalid settings; fix them and start again",
    );
    assert.is(errors.length, 1);
    assert.match(JSON.stringify(errors[0]), "COFENSE_THREATHQ_TOKEN_USER");
    assert.not.match(
      JSON.stringify(run.records),
      env.COFENSE_THREATHQ_TOKEN_PASSWORD,
    );
  } finally {
    await world.close();
  }
});

t("log settings apply to settings errors", async () => {
  const world = await createWorld({ malware: 1 });
  try {
    const run = await runInProcess(
      world,
      world.env({
        OPENCTI_JSON_LOGGING: "false",
        COFENSE_THREATHQ_API_RETRY: "many",
      }),
    );

    assert.is(run.status, 2);
    assert.is(run.records.length, 1);
    assert.match(
      String(run.records[0].message),
      /^ERROR:Cofense ThreatHQ:Invalid settings; fix them and start again /,
    );
  } finally {
    await world.close();
  }
});

t("run help prints usage and exits 0", async () => {
  const world = await createWorld({ malware: 1 });
  try {
    const run = await runInProcess(world, world.env(), { args: ["--help"] });

    assert.is(run.status, 0);
    assert.match(run.stdout, /^Usage: threathq-connector run /);
    assert.match(run.stdout, "CONNECTOR_DURATION_PERIOD");
    assert.equal(run.records, []);
    assert.is(world.simulator.requests.length, 0);
  } finally {
    await world.close();
  }
});

t("run version prints the version", async () => {
  const world = await createWorld({ malware: 1 });
  try {
    const run = await runInProcess(world, world.env(), { args: ["--version"] });

    assert.is(run.status, 0);
    assert.is(run.stdout, `threathq-connector ${VERSION}\n`);
    assert.is(world.simulator.requests.length, 0);
  } finally {
    await world.close();
  }
});

t.run();
