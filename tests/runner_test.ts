import { suite } from "uvu";
import * as assert from "uvu/assert";

const runner = suite("test runner");

runner("failing test exits non-zero", async () => {
  const fixture = new URL("./fixtures/runner/failing_case.ts", import.meta.url);
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      new URL("./run.ts", import.meta.url).pathname,
      fixture.pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stdout } = await command.output();
  const lines = new TextDecoder().decode(stdout).trim().split("\n");

  assert.is(code, 1);
  assert.is(lines.at(-1), "1 passed, 1 failed, 0 skipped");
});

runner.run();
