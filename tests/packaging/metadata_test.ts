import { suite } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import {
  IMPACTS,
  settingEntries,
  TLP_LEVELS,
} from "../../src/config/settings.ts";
import { loadSettings } from "../../src/config/load.ts";
import { VERSION } from "../../src/version.ts";
import {
  generatedFiles,
  renderConfigSchema,
  renderManifest,
  replaceTableRegion,
  settingChoices,
  staleFiles,
} from "../../scripts/metadata.ts";
import { PROJECT_ROOT, withTempDir } from "./host_tools.ts";

const t = suite("packaging: metadata");

const schema = JSON.parse(renderConfigSchema());
const manifest = JSON.parse(renderManifest());

function entryByEnv(env: string) {
  const entry = settingEntries().find((candidate) => candidate.env === env);
  if (entry === undefined) throw new Error(`no setting ${env}`);
  return entry;
}

t("generated files are current", async () => {
  const stale = await staleFiles(PROJECT_ROOT);
  assert.equal(stale, [], `stale: ${stale.join(", ")}; run deno task metadata`);
});

t("stale check detects an edited file", async () => {
  await withTempDir(async (directory) => {
    const files = await generatedFiles(PROJECT_ROOT);
    for (const [path, text] of files) {
      await Deno.mkdir(join(directory, path, ".."), { recursive: true });
      await Deno.writeTextFile(join(directory, path), text);
    }
    assert.equal(await staleFiles(directory), []);

    const sample = join(directory, ".env.sample");
    const text = await Deno.readTextFile(sample);
    await Deno.writeTextFile(sample, text.replace("PT5H", "PT6H"));

    assert.equal(await staleFiles(directory), [".env.sample"]);
  });
});

t("table region replaces only its markers' content", () => {
  const readme = [
    "before",
    "<!-- settings-table:start -->",
    "old table",
    "<!-- settings-table:end -->",
    "after",
  ].join("\n");

  const result = replaceTableRegion(readme, "| new |\n");

  assert.is(
    result,
    "before\n<!-- settings-table:start -->\n\n| new |\n\n<!-- settings-table:end -->\nafter",
  );
  assert.throws(() => replaceTableRegion("no markers", "x"), /settings-table/);
});

t("schema lists every setting but CONNECTOR_ID", () => {
  const expected = settingEntries()
    .map((entry) => entry.env)
    .filter((env) => env !== "CONNECTOR_ID");

  assert.equal(Object.keys(schema.properties), expected);
  assert.is(schema.$schema, "https://json-schema.org/draft/2020-12/schema");
  assert.is(schema.additionalProperties, true);
});

t("schema marks secrets write-only", () => {
  for (const entry of settingEntries()) {
    const property = schema.properties[entry.env];
    if (property === undefined) continue;
    assert.is(
      property.writeOnly === true,
      entry.spec.secret === true,
      entry.env,
    );
  }
  assert.is(schema.properties.OPENCTI_TOKEN.format, "password");
});

t("schema requires the declared settings", () => {
  assert.equal(schema.required, [
    "OPENCTI_URL",
    "OPENCTI_TOKEN",
    "COFENSE_THREATHQ_TOKEN_USER",
    "COFENSE_THREATHQ_TOKEN_PASSWORD",
  ]);
});

t("schema defaults are typed and valid", () => {
  const retention = schema.properties.CONNECTOR_SEND_TO_DIRECTORY_RETENTION;
  assert.is(retention.default, 7);
  assert.is(schema.properties.CONNECTOR_SEND_TO_QUEUE.default, true);
  assert.equal(schema.properties.CONNECTOR_SCOPE.default, ["Cofense ThreatHQ"]);
  assert.is(schema.properties.CONNECTOR_DURATION_PERIOD.default, "PT5H");

  for (const [env, property] of Object.entries(schema.properties)) {
    const { default: fallback } = property as { default?: unknown };
    if (fallback === undefined) continue;
    const parsed = entryByEnv(env).spec.schema.safeParse(fallback);
    assert.ok(parsed.success, `${env} default ${JSON.stringify(fallback)}`);
  }
});

t("schema carries the fixed choices", () => {
  const properties = schema.properties;
  assert.equal(properties.COFENSE_THREATHQ_TLP_LEVEL.enum, [...TLP_LEVELS]);
  assert.equal(properties.COFENSE_THREATHQ_IMPACT_TO_EXCLUDE.items.enum, [
    ...IMPACTS,
  ]);
  assert.equal(properties.CONNECTOR_QUEUE_PROTOCOL.enum, ["amqp", "api"]);
  assert.is(properties.CONNECTOR_TYPE.const, "EXTERNAL_IMPORT");
  assert.is(properties.OPENCTI_URL.format, "uri");
  assert.is(properties.CONNECTOR_DURATION_PERIOD.format, "duration");
});

t("choices parse through their schema", () => {
  for (const entry of settingEntries()) {
    for (const choice of settingChoices(entry) ?? []) {
      const parsed = entry.spec.schema.safeParse(choice);
      assert.ok(parsed.success, `${entry.env}=${choice}`);
    }
  }
  assert.is(settingChoices(entryByEnv("CONNECTOR_NAME")), undefined);
});

t("manifest follows the catalogue shape", () => {
  assert.is(manifest.container_version, VERSION);
  assert.is(manifest.container_type, "EXTERNAL_IMPORT");
  assert.match(manifest.slug, /^[a-z0-9]+(-[a-z0-9]+)*$/);
  assert.ok(manifest.short_description.length <= 200);
  assert.ok(manifest.use_cases.length >= 1);
  assert.ok(manifest.use_cases.length <= 3);
  assert.ok(["Free", "Commercial"].includes(manifest.license_type));
  assert.is(manifest.verified, false);
});

/** Uncomments every `# NAME=value` line of a `.env` sample. */
function uncommentDotenv(text: string): string {
  return text.replace(/^# ([A-Z][A-Z0-9_]*=)/gm, "$1");
}

/** Uncomments every `  # key: value` line of a config.yml sample. */
function uncommentYaml(text: string): string {
  return text.replace(/^ {2}# ([a-z_]+:)/gm, "  $1");
}

const FILLED_IN: Record<string, string> = {
  OPENCTI_TOKEN: "token-for-test",
  CONNECTOR_ID: "0f8a1c52-8a29-4c55-9c1e-3b0d1c6f2a7e",
  COFENSE_THREATHQ_TOKEN_USER: "user-for-test",
  COFENSE_THREATHQ_TOKEN_PASSWORD: "password-for-test",
};

function fillIn(text: string, format: "dotenv" | "yaml"): string {
  let result = text;
  for (const [env, value] of Object.entries(FILLED_IN)) {
    const key = entryByEnv(env).key;
    const line = format === "dotenv"
      ? new RegExp(`^${env}=ChangeMe$`, "m")
      : new RegExp(`^( {2}${key}:) ChangeMe$`, "m");
    assert.match(result, line, `${env} is not ChangeMe in the sample`);
    result = result.replace(
      line,
      format === "dotenv" ? `${env}=${value}` : `$1 ${value}`,
    );
  }
  return result;
}

async function loadSample(name: string, text: string) {
  return await withTempDir(async (directory) => {
    const path = join(directory, name);
    await Deno.writeTextFile(path, text);
    return await loadSettings({
      cwd: directory,
      env: {},
      configPath: path,
      mode: "run",
    });
  });
}

/** Settings a sample must define: those with an example or a default. */
function sampledPaths(): string[] {
  return settingEntries()
    .filter((entry) =>
      entry.spec.example !== undefined || entry.spec.default !== undefined
    )
    .filter((entry) => entry.spec.default !== "")
    .map((entry) => entry.path);
}

t(".env.sample loads with every line on", async () => {
  const files = await generatedFiles(PROJECT_ROOT);
  const text = fillIn(uncommentDotenv(files.get(".env.sample")!), "dotenv");

  const loaded = await loadSample("sample.env", text);

  for (const path of sampledPaths()) {
    assert.is(loaded.origins[path], loaded.sources[0], path);
  }
  assert.is(loaded.settings.connector.duration_period, 5 * 3600 * 1000);
});

t("config.yml.sample loads with every key on", async () => {
  const files = await generatedFiles(PROJECT_ROOT);
  const text = fillIn(uncommentYaml(files.get("config.yml.sample")!), "yaml");

  const loaded = await loadSample("sample.yml", text);

  for (const path of sampledPaths()) {
    assert.is(loaded.origins[path], loaded.sources[0], path);
  }
  assert.is(loaded.settings.cofense_threathq.tlp_level, "amber+strict");
  assert.is(loaded.settings.connector.metrics_port, 9095);
});

t("samples describe every setting", async () => {
  const files = await generatedFiles(PROJECT_ROOT);
  const dotenv = files.get(".env.sample")!;
  const yaml = files.get("config.yml.sample")!;
  const readme = files.get("README.md")!;

  for (const entry of settingEntries()) {
    assert.match(dotenv, `# ${entry.spec.description}`, entry.env);
    assert.match(dotenv, new RegExp(`^(# )?${entry.env}=`, "m"), entry.env);
    assert.match(yaml, new RegExp(`^ {2}(# )?${entry.key}:`, "m"), entry.path);
    assert.match(readme, `\`${entry.env}\``, entry.env);
  }
});

t.run();
