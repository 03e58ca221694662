import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createMemoryLogger } from "../../src/log/logger.ts";
import {
  createFileStateStore,
  StateFileError,
} from "../../src/opencti/file_state.ts";
import { fileStateSource } from "../../src/runtime/run_state.ts";

const t = suite("runtime: run state");

async function withDirectory(run: (directory: string) => Promise<void>) {
  const directory = await Deno.makeTempDir({ prefix: "run-state-test-" });
  try {
    await run(directory);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
}

function source(directory: string) {
  return fileStateSource(
    createFileStateStore({ directory, logger: createMemoryLogger() }),
  );
}

t("file state starts empty", async () => {
  await withDirectory(async (directory) => {
    const view = await source(directory).begin();

    assert.is(view.initialState, undefined);
    assert.not.ok(view.resetSignal.aborted);
  });
});

t("file state save is read back", async () => {
  await withDirectory(async (directory) => {
    const state = { next_position: "abc", current_position: "xyz" };
    const first = await source(directory).begin();
    assert.is(await first.save(state), "saved");
    first.end();

    const second = await source(directory).begin();
    assert.equal(second.initialState, state);
  });
});

t("file state location names the file", async () => {
  await withDirectory((directory) => {
    const location = source(directory).location;

    assert.ok(location.startsWith(directory));
    assert.not.ok(location.endsWith(".json"));
    return Promise.resolve();
  });
});

t("invalid state file fails the run", async () => {
  await withDirectory(async (directory) => {
    const states = source(directory);
    await Deno.writeTextFile(states.location, "[1, 2]");

    try {
      await states.begin();
      assert.unreachable("an invalid state file was read");
    } catch (error) {
      assert.instance(error, StateFileError);
    }
  });
});

t.run();
