import { suite } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { createMemoryLogger } from "../../src/log/logger.ts";
import {
  createDirectoryOutput,
  deleteExpiredFiles,
} from "../../src/opencti/directory_output.ts";
import {
  createFileStateStore,
  STATE_FILE_NAME,
  StateFileError,
} from "../../src/opencti/file_state.ts";

const t = suite("opencti: file state");

async function withDirectory(body: (directory: string) => Promise<void>) {
  const directory = await Deno.makeTempDir({ prefix: "file_state_" });
  try {
    await body(directory);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
}

t("missing file means no state", async () => {
  await withDirectory(async (directory) => {
    const store = createFileStateStore({
      directory,
      logger: createMemoryLogger(),
    });

    assert.is(await store.read(), undefined);
    assert.is(store.path, join(directory, STATE_FILE_NAME));
  });
});

t("state survives a new store", async () => {
  await withDirectory(async (directory) => {
    const logger = createMemoryLogger();
    const state = { last_position: "1705314600123", last_run: 1705314600 };

    await createFileStateStore({ directory, logger }).write(state);
    const read = await createFileStateStore({ directory, logger }).read();

    assert.equal(read, state);
  });
});

t("empty state written as null", async () => {
  await withDirectory(async (directory) => {
    const store = createFileStateStore({
      directory,
      logger: createMemoryLogger(),
    });

    await store.write({ position: 1 });
    await store.write(undefined);

    assert.is(await Deno.readTextFile(store.path), "null");
    assert.is(await store.read(), undefined);
    await store.write({});
    assert.is(await store.read(), undefined);
  });
});

t("name never ends in json", () => {
  assert.not.ok(STATE_FILE_NAME.endsWith(".json"));
  assert.throws(
    () =>
      createFileStateStore({
        directory: "/tmp",
        fileName: "state.JSON",
        logger: createMemoryLogger(),
      }),
    /ends in \.json/,
  );
});

t("retention keeps the state file", async () => {
  await withDirectory(async (directory) => {
    const store = createFileStateStore({
      directory,
      logger: createMemoryLogger(),
    });
    await store.write({ position: 1 });
    const old = new Date(Date.now() - 365 * 86_400_000);
    await Deno.utime(store.path, old, old);

    await deleteExpiredFiles(directory, 1, Date.now(), createMemoryLogger());
    const output = createDirectoryOutput({
      directory,
      retentionDays: 1,
      connector: {
        id: "5ed680de-75e2-4aa0-bec0-4e8e5a0d1695",
        name: "Cofense ThreatHQ",
        type: "EXTERNAL_IMPORT",
        scope: "Cofense ThreatHQ",
        auto: false,
        validate_before_import: false,
      },
      applicantId: null,
      logger: createMemoryLogger(),
    });
    await output.write({ type: "bundle", objects: [] });

    assert.equal(await store.read(), { position: 1 });
  });
});

t("write leaves no temporary file", async () => {
  await withDirectory(async (directory) => {
    const store = createFileStateStore({
      directory: join(directory, "new"),
      logger: createMemoryLogger(),
    });

    await store.write({ position: 2 });
    const names: string[] = [];
    for await (const entry of Deno.readDir(join(directory, "new"))) {
      names.push(entry.name);
    }

    assert.equal(names, [STATE_FILE_NAME]);
  });
});

t("invalid json rejected with fix", async () => {
  await withDirectory(async (directory) => {
    const store = createFileStateStore({
      directory,
      logger: createMemoryLogger(),
    });
    await Deno.writeTextFile(store.path, "{not json");

    const error = await store.read().catch((caught: unknown) => caught);

    assert.instance(error, StateFileError);
    assert.match((error as Error).message, store.path);
    assert.match((error as Error).message, /delete it/);
  });
});

t("non-object state rejected", async () => {
  await withDirectory(async (directory) => {
    const store = createFileStateStore({
      directory,
      logger: createMemoryLogger(),
    });

    for (const text of ["[1]", "42", '"text"']) {
      await Deno.writeTextFile(store.path, text);
      const error = await store.read().catch((caught: unknown) => caught);

      assert.instance(error, StateFileError);
    }
  });
});

t.run();
