import { suite } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { createMemoryLogger } from "../../src/log/logger.ts";
import { AUTHOR_ID } from "../../src/mapper/author.ts";
import { bundleFileName } from "../../src/opencti/directory_output.ts";
import {
  deleteExpiredWithdrawalFiles,
  withdrawalFileName,
} from "../../src/runtime/withdrawal_file.ts";
import {
  createWithdrawalHandler,
  WITHDRAWAL_FILE_SUFFIX,
} from "../../src/runtime/withdrawals.ts";
import type { SyncDeletion } from "../../src/threathq/sync.ts";

const t = suite("runtime: withdrawal file");

const NOW_MS = Date.UTC(2024, 0, 15, 10, 30, 0, 123);
const DAY_MS = 86_400_000;

let directory: string;
let logger: ReturnType<typeof createMemoryLogger>;

t.before.each(async () => {
  directory = await Deno.makeTempDir({ prefix: "withdrawals-" });
  logger = createMemoryLogger();
});

t.after.each(async () => {
  await Deno.remove(directory, { recursive: true });
});

function directoryHandler(retentionDays = 0) {
  return createWithdrawalHandler({
    directory: { directory, retentionDays, now: () => NOW_MS },
    logger,
    authorId: AUTHOR_ID,
    connectorName: "Cofense ThreatHQ",
  });
}

function deletion(threatId: number, occurredOn = NOW_MS): SyncDeletion {
  return { threatType: "malware", threatId, occurredOn };
}

async function fileNames(): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(directory)) names.push(entry.name);
  return names.sort();
}

async function readLines(path: string): Promise<Record<string, unknown>[]> {
  const text = await Deno.readTextFile(path);
  return text.trimEnd().split("\n").map((line) => JSON.parse(line));
}

t("one line per withdrawn threat", async () => {
  const summary = await directoryHandler().handle([
    deletion(1001, Date.UTC(2024, 0, 14)),
    deletion(1002),
  ]);

  assert.ok(summary.file, "a file was written");
  const lines = await readLines(summary.file);
  assert.equal(lines, [
    {
      threat_type: "malware",
      threat_id: 1001,
      occurred_on: "2024-01-14T00:00:00.000Z",
      stable_report_name: "Cofense ThreatHQ malware 1001",
      report_id: null,
    },
    {
      threat_type: "malware",
      threat_id: 1002,
      occurred_on: "2024-01-15T10:30:00.123Z",
      stable_report_name: "Cofense ThreatHQ malware 1002",
      report_id: null,
    },
  ]);
});

t("file name is not read as a bundle", async () => {
  const summary = await directoryHandler().handle([deletion(1001)]);

  const name = summary.file?.slice(directory.length + 1) ?? "";
  assert.ok(name.endsWith(WITHDRAWAL_FILE_SUFFIX), name);
  assert.not.ok(name.endsWith(".json"), name);
  assert.equal(await fileNames(), [name]);
});

t("file name matches the bundle's", () => {
  const bundle = bundleFileName("Cofense ThreatHQ", NOW_MS);
  const withdrawals = withdrawalFileName("Cofense ThreatHQ", NOW_MS);

  assert.is(
    withdrawals,
    bundle.slice(0, -".json".length) + ".withdrawals.jsonl",
  );
});

t("report id of a mapped threat is written", async () => {
  const handler = directoryHandler();
  const reportId = "report--0b2c8a5e-9d7e-5e44-9a0e-3b8f3f7a5f11";
  await handler.handle([], undefined, [{
    threatType: "malware",
    threatId: 1001,
    reportId,
    objects: [],
  }]);

  const summary = await handler.handle([deletion(1001), deletion(1002)]);

  assert.ok(summary.file);
  const lines = await readLines(summary.file);
  assert.is(lines[0].report_id, reportId);
  assert.is(lines[1].report_id, null);
});

t("no file without deletions", async () => {
  const summary = await directoryHandler().handle([]);

  assert.is(summary.file, undefined);
  assert.equal(await fileNames(), []);
});

t("newest entry per threat is written", async () => {
  const summary = await directoryHandler().handle([
    deletion(1001, Date.UTC(2024, 0, 10)),
    deletion(1001, Date.UTC(2024, 0, 12)),
  ]);

  assert.ok(summary.file);
  const lines = await readLines(summary.file);
  assert.is(lines.length, 1);
  assert.is(lines[0].occurred_on, "2024-01-12T00:00:00.000Z");
});

t("withdrawals are logged", async () => {
  await directoryHandler().handle([deletion(1001)]);

  const withdrawn = logger.records().find((record) =>
    record.message === "Cofense withdrew a threat"
  );
  assert.ok(withdrawn, "the deletion was logged");
  assert.equal(withdrawn.attributes, {
    threat_type: "malware",
    threat_id: 1001,
    occurred_on: "2024-01-15T10:30:00.123Z",
  });
});

t("retention deletes old withdrawal files only", async () => {
  const old = new Date(NOW_MS - 3 * DAY_MS);
  const oldWithdrawals = join(directory, `old${WITHDRAWAL_FILE_SUFFIX}`);
  const oldBundle = join(directory, "old-bundle.json");
  const recentWithdrawals = join(directory, `recent${WITHDRAWAL_FILE_SUFFIX}`);
  for (const path of [oldWithdrawals, oldBundle, recentWithdrawals]) {
    await Deno.writeTextFile(path, "{}\n");
  }
  await Deno.utime(oldWithdrawals, old, old);
  await Deno.utime(oldBundle, old, old);
  await Deno.utime(
    recentWithdrawals,
    new Date(NOW_MS - DAY_MS),
    new Date(NOW_MS - DAY_MS),
  );

  const deleted = await deleteExpiredWithdrawalFiles(
    directory,
    2,
    NOW_MS,
    logger,
  );

  assert.equal(deleted, [oldWithdrawals]);
  assert.equal(await fileNames(), [
    "old-bundle.json",
    `recent${WITHDRAWAL_FILE_SUFFIX}`,
  ]);
});

t("retention runs before a write", async () => {
  const old = new Date(NOW_MS - 3 * DAY_MS);
  const oldWithdrawals = join(directory, `old${WITHDRAWAL_FILE_SUFFIX}`);
  await Deno.writeTextFile(oldWithdrawals, "{}\n");
  await Deno.utime(oldWithdrawals, old, old);

  const summary = await directoryHandler(2).handle([deletion(1001)]);

  assert.ok(summary.file);
  assert.equal(await fileNames(), [
    summary.file.slice(directory.length + 1),
  ]);
});

t("zero retention keeps every file", async () => {
  const old = new Date(NOW_MS - 400 * DAY_MS);
  const oldWithdrawals = join(directory, `old${WITHDRAWAL_FILE_SUFFIX}`);
  await Deno.writeTextFile(oldWithdrawals, "{}\n");
  await Deno.utime(oldWithdrawals, old, old);

  await directoryHandler(0).handle([deletion(1001)]);

  assert.is((await fileNames()).length, 2);
});

t.run();
