import { suite } from "uvu";
import { isDurationSchema } from "../../src/config/parsers.ts";
import * as assert from "uvu/assert";
import { checkHelp } from "../../src/cli/check.ts";
import type { CliContext } from "../../src/cli/context.ts";
import { convertHelp } from "../../src/cli/convert.ts";
import { runHealthcheck } from "../../src/cli/healthcheck.ts";
import {
  formatHelp,
  HELP_WIDTH,
  RUN_HELP,
  topLevelHelp,
  versionLine,
  wrapText,
} from "../../src/cli/help.ts";
import { settingEntries } from "../../src/config/settings.ts";
import { VERSION } from "../../src/version.ts";

const t = suite("cli: help");

async function healthcheckHelp(): Promise<string> {
  let stdout = "";
  const context: CliContext = {
    env: {},
    cwd: Deno.cwd(),
    stdin: new ReadableStream(),
    stdout: (text) => stdout += text,
    stderr: () => {},
    signal: new AbortController().signal,
  };
  await runHealthcheck(["--help"], context);
  return stdout;
}

async function allHelpTexts(): Promise<Record<string, string>> {
  return {
    top: topLevelHelp(),
    run: formatHelp(RUN_HELP),
    check: checkHelp(),
    convert: convertHelp(),
    healthcheck: await healthcheckHelp(),
  };
}

/**
 * Returns each setting's block of a help text by environment variable: the
 * name line and the indented lines under it, joined by spaces.
 */
function settingBlocks(text: string): Map<string, string> {
  const blocks = new Map<string, string>();
  let name: string | undefined;
  for (const line of text.split("\n")) {
    const found = /^ {2}([A-Z][A-Z0-9_]+)(?: {2}|$)/.exec(line)?.[1];
    if (found !== undefined) {
      name = found;
      blocks.set(name, line.trim());
    } else if (name !== undefined && line.startsWith("      ")) {
      blocks.set(name, `${blocks.get(name)} ${line.trim()}`);
    } else {
      name = undefined;
    }
  }
  return blocks;
}

t("wrapText keeps width and words", () => {
  const text = "alpha beta gamma delta epsilon zeta eta theta iota kappa";
  const lines = wrapText(text, 20, 4);

  for (const line of lines) {
    assert.ok(line.length <= 20, line);
    assert.ok(line.startsWith("    "), line);
  }
  assert.is(lines.map((line) => line.trim()).join(" "), text);
});

t("wrapText keeps a long word whole", () => {
  const lines = wrapText("short averyveryverylongword end", 10);

  assert.equal(lines, ["short", "averyveryverylongword", "end"]);
});

t("every help fits 80 columns", async () => {
  for (const [name, text] of Object.entries(await allHelpTexts())) {
    for (const line of text.split("\n")) {
      assert.ok(line.length <= HELP_WIDTH, `${name}: ${line}`);
    }
    assert.ok(text.endsWith("\n"), name);
    assert.not.match(text, /\n\n\n/, name);
  }
});

t("top level lists commands and options", () => {
  const text = topLevelHelp();

  for (const command of ["run", "check", "convert [FILE|-]", "healthcheck"]) {
    assert.match(
      text,
      new RegExp(`\\n {2}${command.replace(/[[|\]-]/g, "\\$&")} `),
      command,
    );
  }
  assert.match(text, "--help, -h");
  assert.match(text, "--version");
});

t("run and check list every setting", () => {
  for (const text of [formatHelp(RUN_HELP), checkHelp()]) {
    const blocks = settingBlocks(text);
    for (const entry of settingEntries()) {
      const block = blocks.get(entry.env);
      assert.ok(block !== undefined, `${entry.env} missing`);
      assert.match(block!, `config.yml: ${entry.path}`, entry.env);
      assert.match(block!, entry.spec.description, entry.env);
    }
    assert.is(blocks.size, settingEntries().length);
  }
});

t("defaults, requirements and secrets shown", () => {
  const blocks = settingBlocks(formatHelp(RUN_HELP));

  for (const entry of settingEntries()) {
    const block = blocks.get(entry.env)!;
    if (entry.spec.required === "always") {
      assert.match(block, "Required.", entry.env);
    } else if (entry.spec.required === "platform") {
      assert.match(block, "Required unless CONNECTOR_SEND_TO_QUEUE is false.");
    } else if (entry.spec.default === "") {
      assert.match(block, "Default: none.", entry.env);
    } else if (entry.spec.default !== undefined) {
      assert.match(block, `Default: ${entry.spec.default}.`, entry.env);
    }
    if (entry.spec.secret) {
      assert.match(block, "Secret: never printed or logged.", entry.env);
    } else {
      assert.not.match(block, "Secret:", entry.env);
    }
  }
});

t("units of durations, sizes and ports shown", () => {
  const blocks = settingBlocks(formatHelp(RUN_HELP));
  const durations = settingEntries().filter((entry) =>
    isDurationSchema(entry.spec.schema)
  );

  assert.ok(durations.length >= 3);
  for (const entry of durations) {
    assert.match(blocks.get(entry.env)!, "ISO 8601", entry.env);
  }
  assert.match(blocks.get("CONNECTOR_QUEUE_THRESHOLD")!, "in MB");
  assert.match(
    blocks.get("COFENSE_THREATHQ_IMPORT_REPORT_PDF_MAX_BYTES")!,
    "in bytes",
  );
  for (const name of ["CONNECTOR_METRICS_PORT", "MQ_PORT"]) {
    assert.match(blocks.get(name)!, /port/i, name);
  }
  assert.match(
    blocks.get("COFENSE_THREATHQ_API_LEAKY_BUCKET_RATE")!,
    "requests per second",
  );
  assert.match(
    blocks.get("CONNECTOR_SEND_TO_DIRECTORY_RETENTION")!,
    /^CONNECTOR_SEND_TO_DIRECTORY_RETENTION {2}Default: 7\. Days/,
  );
});

t("healthcheck lists only its settings", async () => {
  const blocks = settingBlocks(await healthcheckHelp());

  assert.equal([...blocks.keys()], [
    "CONNECTOR_EXPOSE_METRICS",
    "CONNECTOR_METRICS_PORT",
    "CONNECTOR_METRICS_BIND_ADDRESS",
  ]);
});

t("convert lists its mapping settings", () => {
  const text = convertHelp();
  const blocks = settingBlocks(text);

  assert.ok(blocks.has("COFENSE_THREATHQ_TLP_LEVEL"));
  assert.ok(blocks.has("COFENSE_THREATHQ_IMPACT_TO_EXCLUDE"));
  assert.ok(blocks.has("COFENSE_THREATHQ_PROMOTE_OBSERVABLES_AS_INDICATORS"));
  assert.not.ok(blocks.has("OPENCTI_TOKEN"));
  assert.match(text, "--no-indicators");
  assert.match(text, "Every other setting that is set is validated too");
});

t("check help states output and exit status", () => {
  const text = checkHelp().replace(/\s+/g, " ");

  assert.match(text, "Usage: threathq-connector check [--config PATH]");
  assert.match(text, "ok, FAIL or skip");
  assert.match(text, "10 seconds");
  assert.match(
    text,
    "1 otherwise (invalid settings included), 2 for bad usage",
  );
});

t("long option moves its description down", () => {
  const text = formatHelp({
    usage: "x",
    summary: [],
    options: [{
      flag: "--a-very-long-option-name VALUE",
      description: "Sets it",
    }],
  });

  assert.match(text, "\n  --a-very-long-option-name VALUE\n");
  assert.match(text, `\n${" ".repeat(24)}Sets it\n`);
});

t("undeclared setting path throws", () => {
  assert.throws(
    () =>
      formatHelp({
        usage: "x",
        summary: [],
        options: [],
        settings: ["connector.no_such_setting"],
      }),
    /connector\.no_such_setting, which is not declared/,
  );
});

t("version line names the version", () => {
  assert.is(versionLine(), `threathq-connector ${VERSION}\n`);
});

t.run();
