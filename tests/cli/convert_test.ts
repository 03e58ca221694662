import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { convertCommand } from "../../src/cli/convert.ts";
import type { CliContext } from "../../src/cli/context.ts";
import { TLP_MARKING_IDS } from "../../src/stix/tlp.ts";
import { danglingReferences } from "../../src/stix/references.ts";
import { bundleSchema, type StixObject } from "../../src/stix/types.ts";

const t = suite("cli: convert");

const REPOSITORY_ROOT = new URL("../../", import.meta.url).pathname;
const FIXTURES = join(REPOSITORY_ROOT, "tests/fixtures/threats");
const SHARED_SAMPLES = join(REPOSITORY_ROOT, "../shared/samples/threathq");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `convert` in a fresh working directory that contains `files`. */
async function run(
  args: string[],
  options: {
    stdin?: string;
    env?: Record<string, string>;
    files?: Record<string, string>;
  } = {},
): Promise<Run> {
  const cwd = await Deno.makeTempDir({ prefix: "threathq-convert-" });
  for (const [name, text] of Object.entries(options.files ?? {})) {
    await Deno.writeTextFile(join(cwd, name), text);
  }

  const output = { stdout: "", stderr: "" };
  const stdin = new Blob([options.stdin ?? ""]).stream();
  const context: CliContext = {
    env: options.env ?? {},
    cwd,
    stdin,
    stdout: (text) => output.stdout += text,
    stderr: (text) => output.stderr += text,
    signal: new AbortController().signal,
  };

  try {
    const code = await convertCommand(args, context);
    return { code, ...output };
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
}

function fixturePath(name: string): string {
  return join(FIXTURES, `${name}.json`);
}

function fixtureText(name: string): string {
  return Deno.readTextFileSync(fixturePath(name));
}

function bundleOf(result: Run) {
  const parsed = bundleSchema.safeParse(JSON.parse(result.stdout));
  assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
  return parsed.data!;
}

function warnings(result: Run): Array<Record<string, unknown>> {
  return result.stderr.trim().split("\n").filter((line) => line !== "")
    .map((line) => JSON.parse(line));
}

function ofType(objects: readonly StixObject[], type: string) {
  return objects.filter((object) => object.type === type);
}

t("file argument gives a bundle", async () => {
  const result = await run([fixturePath("full-malware")]);
  const bundle = bundleOf(result);

  assert.is(result.code, 0);
  assert.is(result.stderr, "");
  assert.is(bundle.type, "bundle");
  assert.is(ofType(bundle.objects, "report").length, 1);
  assert.equal(danglingReferences(bundle.objects), []);
});

t("relative path from the working directory", async () => {
  const result = await run(["threat.json"], {
    files: { "threat.json": fixtureText("impacts") },
  });

  assert.is(result.code, 0);
  assert.is(ofType(bundleOf(result).objects, "report").length, 1);
});

t("standard input with - and without a file", async () => {
  const dash = await run(["-"], { stdin: fixtureText("full-malware") });
  const none = await run([], { stdin: fixtureText("full-malware") });

  assert.is(dash.code, 0);
  assert.is(none.code, 0);
  assert.equal(
    bundleOf(dash).objects.map((object) => object.id),
    bundleOf(none).objects.map((object) => object.id),
  );
});

t("success envelope around one threat", async () => {
  const envelope = JSON.stringify({
    success: true,
    data: JSON.parse(fixtureText("credential-phishing")),
  });
  const result = await run(["-"], { stdin: envelope });

  assert.is(result.code, 0);
  const report = ofType(bundleOf(result).objects, "report")[0] as {
    report_types: string[];
  };
  assert.equal(report.report_types, ["Credential Phishing"]);
});

t("search response with several threats", async () => {
  const response = JSON.stringify({
    success: true,
    data: {
      page: { currentPage: 0, totalPages: 1 },
      threats: [
        JSON.parse(fixtureText("full-malware")),
        JSON.parse(fixtureText("impacts")),
      ],
    },
  });
  const result = await run(["-"], { stdin: response });
  const bundle = bundleOf(result);

  assert.is(result.code, 0);
  assert.is(ofType(bundle.objects, "report").length, 2);
  assert.is(ofType(bundle.objects, "marking-definition").length, 1);
  assert.equal(danglingReferences(bundle.objects), []);
});

t("bad threat among good ones", async () => {
  const response = JSON.stringify({
    data: { threats: [{ id: "broken" }, JSON.parse(fixtureText("sparse"))] },
  });
  const result = await run(["-"], { stdin: response });
  const lines = warnings(result);

  assert.is(result.code, 0);
  assert.is(ofType(bundleOf(result).objects, "report").length, 1);
  assert.is(lines[0].message, "Skipped a threat that could not be mapped");
  assert.equal(lines[1].attributes, {
    threat_id: "broken",
    field: "id",
    value: "broken",
    reason: "expected an integer threat id",
  });
});

t("problems are JSON warnings", async () => {
  const result = await run([fixturePath("invalid-values")]);
  const lines = warnings(result);
  const truncated = lines.find((line) =>
    (line.attributes as { value?: unknown }).value === "203.0.113"
  );

  assert.is(result.code, 0);
  assert.ok(lines.length >= 10);
  for (const line of lines) {
    assert.is(line.level, "WARNING");
    assert.is(line.name, "Cofense ThreatHQ");
    assert.is(line.message, "Skipped or dropped a ThreatHQ value");
  }
  assert.equal(truncated?.attributes, {
    threat_id: "900004",
    field: "blockSet[0].data_1",
    value: "203.0.113",
    reason:
      "not an IPv4 address: expected four dot-separated numbers 0-255 without leading zeros; skipped",
  });
});

t("not JSON exits 1 naming the input", async () => {
  const piped = await run(["-"], { stdin: "{ not json" });
  const file = await run(["broken.json"], { files: { "broken.json": "[" } });

  assert.is(piped.code, 1);
  assert.is(piped.stdout, "");
  assert.match(piped.stderr, "standard input is not valid JSON");
  assert.match(piped.stderr, "expected a ThreatHQ threat object");
  assert.is(file.code, 1);
  assert.match(file.stderr, "broken.json is not valid JSON");
});

t("not a threat exits 1", async () => {
  const cases = [
    "[1, 2]",
    '"text"',
    '{"success": true, "data": {"nextPosition": "x", "changelog": []}}',
    '{"label": "no id"}',
  ];
  for (const stdin of cases) {
    const result = await run(["-"], { stdin });
    assert.is(result.code, 1, stdin);
    assert.is(result.stdout, "", stdin);
    assert.match(result.stderr, "expected a ThreatHQ threat object", stdin);
  }
});

t("error response exits 1", async () => {
  const result = await run(["-"], {
    stdin: '{"success": false, "data": null}',
  });

  assert.is(result.code, 1);
  assert.match(result.stderr, "error response (success: false)");
});

t("only unmappable threats exits 1", async () => {
  const result = await run(["-"], {
    stdin: '{"data": {"threats": [{"id": 1, "threatType": "PHISH"}]}}',
  });

  assert.is(result.code, 1);
  assert.is(result.stdout, "");
  assert.match(result.stderr, "contains no threat that could be mapped");
  assert.match(result.stderr, "a report needs a published date");
});

t("empty search response gives an empty bundle", async () => {
  const result = await run(["-"], {
    stdin: '{"success": true, "data": {"threats": []}}',
  });

  assert.is(result.code, 0);
  assert.equal(bundleOf(result).objects, []);
  assert.is(
    warnings(result)[0].message,
    "The input contains no threats; the bundle is empty",
  );
});

t("missing file exits 1", async () => {
  const result = await run(["absent.json"]);

  assert.is(result.code, 1);
  assert.match(result.stderr, "Cannot read absent.json: file not found");
});

t("--tlp overrides the environment", async () => {
  const env = { COFENSE_THREATHQ_TLP_LEVEL: "red" };
  const configured = await run([fixturePath("sparse")], { env });
  const flagged = await run(["--tlp", "green", fixturePath("sparse")], {
    env,
  });
  const inline = await run(["--tlp=clear", fixturePath("sparse")], { env });
  const marking = (result: Run) =>
    ofType(bundleOf(result).objects, "marking-definition")[0].id;

  assert.is(marking(configured), TLP_MARKING_IDS.red);
  assert.is(marking(flagged), TLP_MARKING_IDS.green);
  assert.is(marking(inline), TLP_MARKING_IDS.clear);
});

t("--impact-to-exclude overrides config.yml", async () => {
  const files = {
    "config.yml": "cofense_threathq:\n  impact_to_exclude: Major\n",
    "threat.json": fixtureText("impacts"),
  };
  const configured = await run(["threat.json"], { files });
  const flagged = await run(
    ["--impact-to-exclude", "None,Minor", "threat.json"],
    { files },
  );
  const none = await run(["--impact-to-exclude=", "threat.json"], { files });
  const domains = (result: Run) =>
    ofType(bundleOf(result).objects, "domain-name").length;

  assert.is(domains(configured), 3);
  assert.is(domains(flagged), 4);
  assert.is(domains(none), 6);
});

t("--no-indicators overrides the setting", async () => {
  const env = { COFENSE_THREATHQ_PROMOTE_OBSERVABLES_AS_INDICATORS: "true" };
  const result = await run(["--no-indicators", fixturePath("full-malware")], {
    env,
  });
  const disabled = await run([fixturePath("full-malware")], {
    env: { COFENSE_THREATHQ_PROMOTE_OBSERVABLES_AS_INDICATORS: "false" },
  });

  assert.is(ofType(bundleOf(result).objects, "indicator").length, 0);
  assert.is(ofType(bundleOf(disabled).objects, "indicator").length, 0);
});

t("--config reads only that file", async () => {
  const files = {
    "mapping.env": "COFENSE_THREATHQ_TLP_LEVEL=amber\n",
    ".env": "COFENSE_THREATHQ_TLP_LEVEL=red\n",
  };
  const result = await run(
    ["--config", "mapping.env", fixturePath("sparse")],
    { files },
  );

  assert.is(result.code, 0);
  assert.is(
    ofType(bundleOf(result).objects, "marking-definition")[0].id,
    TLP_MARKING_IDS.amber,
  );
});

t("no credentials needed", async () => {
  const result = await run([fixturePath("sparse")], { env: {} });

  assert.is(result.code, 0);
});

t("invalid settings exit 2", async () => {
  const result = await run([fixturePath("sparse")], {
    env: { COFENSE_THREATHQ_TLP_LEVEL: "purple" },
  });

  assert.is(result.code, 2);
  assert.is(result.stdout, "");
  assert.match(result.stderr, "cofense_threathq.tlp_level");
});

t("invalid flag values exit 2", async () => {
  const tlp = await run(["--tlp", "purple", fixturePath("sparse")]);
  const impact = await run([
    "--impact-to-exclude",
    "High",
    fixturePath("sparse"),
  ]);

  assert.is(tlp.code, 2);
  assert.match(tlp.stderr, 'Invalid --tlp "purple"');
  assert.is(impact.code, 2);
  assert.match(impact.stderr, 'Invalid --impact-to-exclude "High"');
});

t("usage errors exit 2", async () => {
  const unknown = await run(["--bogus", fixturePath("sparse")]);
  const missing = await run(["--tlp"]);
  const twoFiles = await run(["a.json", "b.json"]);
  const noConfig = await run(["--config", "absent.yml", fixturePath("sparse")]);

  assert.is(unknown.code, 2);
  assert.match(unknown.stderr, "unknown option --bogus");
  assert.is(missing.code, 2);
  assert.match(missing.stderr, "missing value after --tlp");
  assert.is(twoFiles.code, 2);
  assert.match(twoFiles.stderr, "expected one input file");
  assert.is(noConfig.code, 2);
  assert.match(noConfig.stderr, "file not found");
  assert.match(noConfig.stderr, "absent.yml");
});

t("--help prints usage", async () => {
  const result = await run(["--help"]);

  assert.is(result.code, 0);
  assert.match(result.stdout, "Usage: threathq-connector convert");
  assert.match(result.stdout, "--impact-to-exclude LIST");
});

let sharedPresent = true;
try {
  Deno.statSync(SHARED_SAMPLES);
} catch {
  sharedPresent = false;
  console.log("skipped: ../shared not found");
}

if (sharedPresent) {
  t("shared samples give consistent bundles", async () => {
    const samples = [...Deno.readDirSync(SHARED_SAMPLES)]
      .map((entry) => entry.name)
      .filter((name) => name.startsWith("threat-search-"))
      .sort();
    assert.ok(samples.length >= 4);

    for (const name of samples) {
      const result = await run([join(SHARED_SAMPLES, name)]);
      const bundle = bundleOf(result);
      assert.is(result.code, 0, name);
      assert.ok(ofType(bundle.objects, "report").length >= 1, name);
      assert.equal(danglingReferences(bundle.objects), [], name);
    }
  });

  t("repeated threat id merges reports", async () => {
    const result = await run([
      join(SHARED_SAMPLES, "threat-search-sparse.json"),
    ]);
    const objects = bundleOf(result).objects;
    const reports = ofType(objects, "report") as Array<
      { object_refs: string[] }
    >;

    assert.is(reports.length, 1);
    assert.is(reports[0].object_refs.length, 13);
  });
} else {
  t.skip("shared samples give consistent bundles", () => {});
}

t("real entry point reads standard input", async () => {
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", join(REPOSITORY_ROOT, "mod.ts"), "convert", "-"],
    cwd: await Deno.makeTempDir({ prefix: "threathq-convert-" }),
    env: { NO_COLOR: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  });
  const child = command.spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(fixtureText("full-malware")));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const bundle = bundleSchema.parse(
    JSON.parse(new TextDecoder().decode(stdout)),
  );

  assert.is(code, 0, new TextDecoder().decode(stderr));
  assert.is(ofType(bundle.objects, "report").length, 1);
  assert.equal(danglingReferences(bundle.objects), []);
});

t.run();
