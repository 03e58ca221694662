import { suite } from "uvu";
import * as assert from "uvu/assert";
import { permissionFlags } from "../../scripts/permissions.ts";

const t = suite("cli: shutdown grace");

const ENTRY_POINT = new URL("../../mod.ts", import.meta.url).pathname;

// `convert -` waits on standard input, which no abort signal ends: the
// process must still exit on SIGTERM once the grace has passed.
t("stuck command exits after SIGTERM", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissionFlags(), ENTRY_POINT, "convert", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: { CONNECTOR_LOG_LEVEL: "info" },
  }).spawn();
  const stdin = child.stdin.getWriter();
  await stdin.write(new TextEncoder().encode("{"));

  // The child reads its input before it can be stuck on the rest of it.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  child.kill("SIGTERM");
  // A child that ignores the grace is killed, so the test fails, not hangs.
  const guard = setTimeout(() => child.kill("SIGKILL"), 15_000);
  const { code, stderr } = await child.output();
  clearTimeout(guard);
  await stdin.close().catch(() => {});

  const log = new TextDecoder().decode(stderr);
  assert.is(code, 0, log);
  assert.match(log, "Shutdown did not finish in time; exiting");
});

t.run();
