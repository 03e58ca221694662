import { suite } from "uvu";
import * as assert from "uvu/assert";
import { settingEntries } from "../../src/config/settings.ts";
import { VERSION } from "../../src/version.ts";
import {
  permissionFlags,
  runtimeFlags,
  settingEnvPatterns,
} from "../../scripts/permissions.ts";
import { startArgs } from "../../scripts/start.ts";
import { join } from "node:path";
import { TLP_DEFINITION_IDS } from "../../src/stix/ids.ts";
import { PROJECT_ROOT, runCommand, withTempDir } from "./host_tools.ts";

const t = suite("packaging: permissions");

const THREAT_FILE = "tests/packaging/threat.json";

function matchesPattern(name: string, pattern: string): boolean {
  return pattern.endsWith("*")
    ? name.startsWith(pattern.slice(0, -1))
    : name === pattern;
}

t("env patterns cover every setting", () => {
  const patterns = settingEnvPatterns();
  for (const entry of settingEntries()) {
    const covered = patterns.some((pattern) =>
      matchesPattern(entry.env, pattern)
    );
    assert.ok(covered, `${entry.env} matches none of ${patterns.join(",")}`);
  }
});

t("env patterns are one per section", () => {
  const sections = new Set(settingEntries().map((entry) => entry.section));
  assert.is(settingEnvPatterns().length, sections.size);
});

t("flags grant no sandbox escape", () => {
  const flags = permissionFlags();
  for (const forbidden of ["-A", "--allow-all", "--allow-run", "--allow-ffi"]) {
    const present = flags.some((flag) =>
      flag === forbidden || flag.startsWith(`${forbidden}=`)
    );
    assert.not.ok(present, `${forbidden} is in ${flags.join(" ")}`);
  }
  assert.ok(flags.includes("--no-prompt"));
});

t("every flag has a one-line reason", () => {
  for (const { flag, reason } of runtimeFlags()) {
    assert.ok(reason.length > 20, `${flag} has no reason`);
    assert.not.ok(reason.includes("\n"), `${flag}'s reason spans lines`);
  }
});

t("start passes the flags before mod.ts", () => {
  const args = startArgs(["convert", "-"]);
  const entry = args.findIndex((arg) => arg.endsWith("/mod.ts"));
  assert.equal(args.slice(0, entry), ["run", ...permissionFlags()]);
  assert.equal(args.slice(entry + 1), ["convert", "-"]);
});

t("start prints the version", async () => {
  const result = await runCommand(Deno.execPath(), [
    "task",
    "--quiet",
    "start",
    "--version",
  ]);

  assert.is(result.code, 0, result.stderr);
  assert.is(result.stdout, `threathq-connector ${VERSION}\n`);
});

t("start converts a threat file", async () => {
  const result = await runCommand(Deno.execPath(), [
    "task",
    "--quiet",
    "start",
    "convert",
    THREAT_FILE,
  ], { cwd: PROJECT_ROOT });

  assert.is(result.code, 0, result.stderr);
  const bundle = JSON.parse(result.stdout);
  assert.is(bundle.type, "bundle");
  const types = bundle.objects.map((object: { type: string }) => object.type);
  assert.ok(types.includes("report"), `no report in ${types.join(",")}`);
});

t("start passes settings variables", async () => {
  const result = await runCommand(Deno.execPath(), [
    "task",
    "--quiet",
    "start",
    "convert",
    THREAT_FILE,
  ], { env: { COFENSE_THREATHQ_TLP_LEVEL: "red" } });

  assert.is(result.code, 0, result.stderr);
  const bundle = JSON.parse(result.stdout);
  const report = bundle.objects.find((object: { type: string }) =>
    object.type === "report"
  );
  assert.ok(
    report.object_marking_refs.includes(TLP_DEFINITION_IDS["TLP:RED"]),
    `report markings: ${report.object_marking_refs}`,
  );
});

t("flags hide other variables", async () => {
  await withTempDir(async (directory) => {
    const probe = join(directory, "probe.ts");
    await Deno.writeTextFile(
      probe,
      "console.log(JSON.stringify(Deno.env.toObject()));",
    );

    const result = await runCommand(
      Deno.execPath(),
      ["run", ...permissionFlags(), probe],
      {
        cwd: directory,
        env: { CONNECTOR_NAME: "probe", UNRELATED_SECRET: "hidden" },
      },
    );

    assert.is(result.code, 0, result.stderr);
    const visible = JSON.parse(result.stdout);
    assert.is(visible.CONNECTOR_NAME, "probe");
    assert.is(visible.UNRELATED_SECRET, undefined);
    assert.is(visible.PATH, undefined);
  });
});

t.run();
