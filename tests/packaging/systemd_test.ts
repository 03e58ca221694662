/**
 * The systemd unit. `systemd-analyze verify` checks that the ExecStart
 * executable exists, but the release executable is built elsewhere. So the
 * test verifies a copy whose ExecStart names the Deno executable, and
 * separate tests check the real path.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import {
  EXIT_CREDENTIALS_REJECTED,
  EXIT_INVALID_SETTINGS,
} from "../../src/errors.ts";
import { EXECUTABLE_PATH } from "../../scripts/rootfs.ts";
import {
  denoExecutable,
  hasProgram,
  PROJECT_ROOT,
  requirementMet,
  runCommand,
  withTempDir,
} from "./host_tools.ts";

const t = suite("packaging: systemd");

const UNIT_NAME = "threathq-connector.service";
const unit = await Deno.readTextFile(
  join(PROJECT_ROOT, "deploy/systemd", UNIT_NAME),
);

/** Returns every value assigned to a directive, in order. */
function directive(name: string): string[] {
  const pattern = new RegExp(`^${name}=(.*)$`, "gm");
  return [...unit.matchAll(pattern)].map((match) => match[1]);
}

function withExecStart(executable: string): string {
  return unit.replace(
    /^ExecStart=\S+/m,
    `ExecStart=${executable}`,
  );
}

async function verifyUnit(text: string) {
  return await withTempDir(async (directory) => {
    const path = join(directory, UNIT_NAME);
    await Deno.writeTextFile(path, text);
    return await runCommand("systemd-analyze", ["verify", path]);
  });
}

const canVerify = requirementMet(
  await hasProgram("systemd-analyze"),
  "systemd-analyze not found (systemd unit verification)",
);
const verifyTest = canVerify ? t : t.skip;

verifyTest("unit passes systemd-analyze verify", async () => {
  const result = await verifyUnit(withExecStart(denoExecutable()));

  assert.is(result.code, 0, result.stdout + result.stderr);
  assert.not.match(result.stderr, UNIT_NAME);
});

verifyTest("verify rejects a missing executable", async () => {
  const result = await verifyUnit(withExecStart("/nonexistent/threathq"));

  assert.is.not(result.code, 0);
  assert.match(result.stderr, "/nonexistent/threathq");
});

t("ExecStart runs the installed executable", () => {
  assert.equal(directive("ExecStart"), [`${EXECUTABLE_PATH} run`]);
});

t("README installs to the ExecStart path", async () => {
  const readme = await Deno.readTextFile(join(PROJECT_ROOT, "README.md"));
  assert.ok(
    readme.includes(EXECUTABLE_PATH),
    `README.md never mentions ${EXECUTABLE_PATH}; its install steps must put the executable where the unit's ExecStart expects it`,
  );
});

t("restart skips settings and credentials errors", () => {
  assert.equal(directive("Restart"), ["on-failure"]);
  assert.equal(directive("RestartPreventExitStatus"), [
    `${EXIT_INVALID_SETTINGS} ${EXIT_CREDENTIALS_REJECTED}`,
  ]);
});

t("unit keeps the required hardening", () => {
  const expected: Record<string, string> = {
    Type: "exec",
    DynamicUser: "yes",
    ProtectSystem: "strict",
    ProtectHome: "yes",
    PrivateTmp: "yes",
    NoNewPrivileges: "yes",
    CapabilityBoundingSet: "",
    RestrictAddressFamilies: "AF_UNIX AF_INET AF_INET6",
    WorkingDirectory: "/etc/threathq-connector",
    EnvironmentFile: "-/etc/threathq-connector/env",
  };
  for (const [name, value] of Object.entries(expected)) {
    assert.equal(directive(name), [value], name);
  }
  assert.ok(directive("StateDirectory")[0]?.startsWith("threathq-connector"));
});

t("unit leaves V8's JIT working", () => {
  assert.equal(directive("MemoryDenyWriteExecute"), []);
});

t.run();
