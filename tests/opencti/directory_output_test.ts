import { suite } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { createMemoryLogger } from "../../src/log/logger.ts";
import {
  bundleFileName,
  createDirectoryOutput,
  deleteExpiredFiles,
  directoryConnector,
  directoryModeConnectorId,
  writeFileAtomically,
} from "../../src/opencti/directory_output.ts";
import { makeBundle } from "../../src/stix/bundle.ts";
import type { StixObject } from "../../src/stix/types.ts";
import { samplePage } from "../support/worker_standin.ts";

const t = suite("opencti: directory output");

const CONNECTOR = {
  id: "5ed680de-75e2-4aa0-bec0-4e8e5a0d1695",
  name: "Cofense ThreatHQ",
  type: "EXTERNAL_IMPORT",
  scope: "Cofense ThreatHQ",
  auto: false,
  validate_before_import: false,
};

const DAY_MS = 86_400_000;

/** 2024-01-15 10:30:00.123456 UTC, in epoch milliseconds. */
const NOW_MS = 1_705_314_600_123.456;

async function withDirectory(body: (directory: string) => Promise<void>) {
  const directory = await Deno.makeTempDir({ prefix: "directory_output_" });
  try {
    await body(directory);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
}

async function listNames(directory: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(directory)) names.push(entry.name);
  return names.sort();
}

async function touch(path: string, ageMs: number): Promise<void> {
  await Deno.writeTextFile(path, "{}");
  const time = new Date(NOW_MS - ageMs);
  await Deno.utime(path, time, time);
}

function pageBundle() {
  return makeBundle(samplePage(2) as unknown as StixObject[]);
}

t("file name as pycti writes it", () => {
  const previous = Deno.env.get("TZ");
  Deno.env.set("TZ", "UTC");
  try {
    assert.is(
      bundleFileName("Cofense ThreatHQ", NOW_MS),
      "cofense_threathq-20240115-103000-1705314600.123456.json",
    );
    assert.is(
      bundleFileName("My Connector", 1_705_314_600_000),
      "my_connector-20240115-103000-1705314600.0.json",
    );
    // The stamp is local time, the epoch seconds are not.
    Deno.env.set("TZ", "Asia/Tokyo");
    assert.is(
      bundleFileName("Cofense ThreatHQ", NOW_MS),
      "cofense_threathq-20240115-193000-1705314600.123456.json",
    );
  } finally {
    if (previous === undefined) Deno.env.delete("TZ");
    else Deno.env.set("TZ", previous);
  }
});

t("file name without path separators", () => {
  const name = bundleFileName("a/b\\c", NOW_MS);

  assert.match(name, /^a_b_c-\d{8}-\d{6}-/);
  assert.not.match(name, /[/\\]/);
});

t("wrapper holds the whole bundle", async () => {
  await withDirectory(async (directory) => {
    const output = createDirectoryOutput({
      directory,
      retentionDays: 7,
      connector: CONNECTOR,
      applicantId: "88ec0c6a-13ce-5e39-b486-354fe4a7084f",
      logger: createMemoryLogger(),
      now: () => NOW_MS,
    });
    const bundle = pageBundle();

    const path = await output.write(bundle);
    const text = await Deno.readTextFile(path);
    const wrapper = JSON.parse(text);

    assert.equal(Object.keys(wrapper), [
      "bundle_type",
      "applicant_id",
      "connector",
      "entities_types",
      "bundle",
      "update",
    ]);
    assert.is(wrapper.bundle_type, "DIRECTORY_BUNDLE");
    assert.is(wrapper.applicant_id, "88ec0c6a-13ce-5e39-b486-354fe4a7084f");
    assert.equal(wrapper.connector, CONNECTOR);
    assert.is(wrapper.entities_types, null);
    assert.is(wrapper.update, false);
    assert.equal(wrapper.bundle, bundle);
    assert.ok(text.startsWith('{"bundle_type": "DIRECTORY_BUNDLE", '));
  });
});

t("directory-only wrapper has no applicant", async () => {
  await withDirectory(async (directory) => {
    const output = createDirectoryOutput({
      directory,
      retentionDays: 0,
      connector: CONNECTOR,
      applicantId: null,
      logger: createMemoryLogger(),
    });

    const path = await output.write(pageBundle(), {
      entitiesTypes: ["Report"],
      update: true,
    });
    const wrapper = JSON.parse(await Deno.readTextFile(path));

    assert.is(wrapper.applicant_id, null);
    assert.equal(wrapper.entities_types, ["Report"]);
    assert.is(wrapper.update, true);
  });
});

t("no temporary file left", async () => {
  await withDirectory(async (directory) => {
    const output = createDirectoryOutput({
      directory,
      retentionDays: 7,
      connector: CONNECTOR,
      applicantId: null,
      logger: createMemoryLogger(),
    });

    const path = await output.write(pageBundle());
    const names = await listNames(directory);

    assert.equal(names, [path.slice(directory.length + 1)]);
    assert.ok(names[0].endsWith(".json"));
  });
});

t("missing directory created", async () => {
  await withDirectory(async (parent) => {
    const directory = join(parent, "nested", "out");
    const output = createDirectoryOutput({
      directory,
      retentionDays: 7,
      connector: CONNECTOR,
      applicantId: null,
      logger: createMemoryLogger(),
    });

    const path = await output.write(pageBundle());

    assert.ok((await Deno.stat(path)).isFile);
  });
});

t("retention before each write", async () => {
  await withDirectory(async (directory) => {
    await touch(join(directory, "old.json"), 8 * DAY_MS);
    await touch(join(directory, "other_connector-old.json"), 30 * DAY_MS);
    await touch(join(directory, "recent.json"), 6 * DAY_MS);
    await touch(join(directory, "old.txt"), 30 * DAY_MS);
    await touch(join(directory, "old.json.tmp"), 30 * DAY_MS);
    await touch(join(directory, ".threathq-connector-state"), 30 * DAY_MS);
    await Deno.mkdir(join(directory, "folder.json"));
    const logger = createMemoryLogger();
    const output = createDirectoryOutput({
      directory,
      retentionDays: 7,
      connector: CONNECTOR,
      applicantId: null,
      logger,
      now: () => NOW_MS,
    });

    const path = await output.write(pageBundle());
    const names = await listNames(directory);

    assert.equal(
      names,
      [
        ".threathq-connector-state",
        "folder.json",
        "old.json.tmp",
        "old.txt",
        "recent.json",
        path.slice(directory.length + 1),
      ].sort(),
    );
    const record = logger.records().find((entry) =>
      entry.message === "Deleted bundle files older than the retention"
    );
    assert.equal(record?.attributes, {
      directory,
      files: 2,
      retention_days: 7,
    });
  });
});

t("retention 0 keeps every file", async () => {
  await withDirectory(async (directory) => {
    await touch(join(directory, "ancient.json"), 3650 * DAY_MS);
    const output = createDirectoryOutput({
      directory,
      retentionDays: 0,
      connector: CONNECTOR,
      applicantId: null,
      logger: createMemoryLogger(),
      now: () => NOW_MS,
    });

    await output.write(pageBundle());

    assert.ok((await listNames(directory)).includes("ancient.json"));
  });
});

t("expired files listed", async () => {
  await withDirectory(async (directory) => {
    await touch(join(directory, "a.json"), 2 * DAY_MS + 1);
    await touch(join(directory, "b.json"), 2 * DAY_MS - 1000);

    const deleted = await deleteExpiredFiles(
      directory,
      2,
      NOW_MS,
      createMemoryLogger(),
    );

    assert.equal(deleted, [join(directory, "a.json")]);
  });
});

t("atomic write replaces the file", async () => {
  await withDirectory(async (directory) => {
    const path = join(directory, "state");
    await writeFileAtomically(path, "first");
    await writeFileAtomically(path, "second");

    assert.is(await Deno.readTextFile(path), "second");
    assert.equal(await listNames(directory), ["state"]);
  });
});

t("failed write removes temporary file", async () => {
  await withDirectory(async (directory) => {
    // Renaming a file over a non-empty directory fails.
    const path = join(directory, "target");
    await Deno.mkdir(path);
    await Deno.writeTextFile(join(path, "inside"), "x");

    const error = await writeFileAtomically(path, "text").catch((
      caught: unknown,
    ) => caught);

    assert.instance(error, Error);
    assert.equal(await listNames(directory), ["target"]);
  });
});

t("connector id stable without platform", () => {
  const first = directoryModeConnectorId("Cofense ThreatHQ");

  assert.is(first, directoryModeConnectorId("Cofense ThreatHQ"));
  assert.is.not(first, directoryModeConnectorId("Other"));
  assert.match(first, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab]/);
});

t("connector block from settings", () => {
  const block = directoryConnector(
    {
      name: "Cofense ThreatHQ",
      type: "EXTERNAL_IMPORT",
      scope: ["Cofense ThreatHQ", "Report"],
    } as Parameters<typeof directoryConnector>[0],
    CONNECTOR.id,
  );

  assert.equal(block, {
    id: CONNECTOR.id,
    name: "Cofense ThreatHQ",
    type: "EXTERNAL_IMPORT",
    scope: "Cofense ThreatHQ,Report",
    auto: false,
    validate_before_import: false,
  });
});

t.run();
