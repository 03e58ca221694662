/**
 * The compile tasks. Each `deno task compile` here took about a second on
 * the development machine, because the module graph is small and type
 * checking is cached. With DENORT_BIN the output is a copy of the Deno
 * executable, about 100 MB, written to a temporary folder.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { VERSION } from "../../src/version.ts";
import {
  compileArgs,
  executableName,
  RELEASE_TARGETS,
  writeChecksums,
} from "../../scripts/compile.ts";
import {
  permissionFlags,
  settingEnvPatterns,
} from "../../scripts/permissions.ts";
import {
  denoExecutable,
  PROJECT_ROOT,
  runCommand,
  withTempDir,
} from "./host_tools.ts";

const t = suite("packaging: compile");

/** The URL `deno compile` fetches the runtime for this machine from. */
const RUNTIME_URL =
  `https://dl.deno.land/release/v${Deno.version.deno}/denort-${Deno.build.target}.zip`;

function withoutDenortBin(): Record<string, string> {
  const env = Deno.env.toObject();
  delete env.DENORT_BIN;
  return env;
}

/** Lines of Deno's output that start a new error, colours removed. */
function errorLines(stderr: string): string[] {
  // deno-lint-ignore no-control-regex
  const plain = stderr.replace(/\x1b\[[0-9;]*m/g, "");
  return plain.split("\n").filter((line) => /^error\b/.test(line));
}

/** Decodes a binary file one character per byte, to search it as text. */
async function readBinaryText(path: string): Promise<string> {
  return new TextDecoder("latin1").decode(await Deno.readFile(path));
}

function countOccurrences(text: string, marker: string): number {
  return text.split(marker).length - 1;
}

/** Returns the compile metadata's `permissions` object, or undefined. */
function embeddedPermissions(
  text: string,
): Record<string, unknown> | undefined {
  const start = text.indexOf('"permissions":{');
  if (start < 0) return undefined;

  const open = text.indexOf("{", start);
  let depth = 0;
  for (let index = open; index < text.length; index++) {
    if (text[index] === "{") depth++;
    if (text[index] === "}") depth--;
    if (depth === 0) return JSON.parse(text.slice(open, index + 1));
  }
  return undefined;
}

/** Lists the command modules that mod.ts loads with `import()`. */
async function commandModules(): Promise<string[]> {
  const source = await Deno.readTextFile(join(PROJECT_ROOT, "mod.ts"));
  const imports = source.matchAll(/import\("\.\/src\/cli\/(\w+\.ts)"\)/g);
  return [...imports].map((match) => match[1]);
}

t("executable names per target", () => {
  assert.is(executableName(), "threathq-connector");
  assert.is(
    executableName("aarch64-unknown-linux-gnu"),
    "threathq-connector-aarch64-unknown-linux-gnu",
  );
  assert.is(
    executableName("x86_64-pc-windows-msvc"),
    "threathq-connector-x86_64-pc-windows-msvc.exe",
  );
  assert.is(RELEASE_TARGETS.length, 5);
});

t("compile args carry the permission flags", () => {
  const args = compileArgs("out/bin", "x86_64-apple-darwin");

  assert.is(args[0], "compile");
  assert.ok(args.includes("--frozen"));
  const target = args.indexOf("--target");
  assert.is(args[target + 1], "x86_64-apple-darwin");
  for (const flag of permissionFlags()) {
    assert.ok(args.includes(flag), `${flag} missing from ${args.join(" ")}`);
  }
  assert.ok(args.at(-1)!.endsWith("/mod.ts"));
  assert.not.ok(args.some((arg) => arg.startsWith("--env-file")));
});

t("checksums pass sha256sum --check", async () => {
  await withTempDir(async (directory) => {
    const first = join(directory, "threathq-connector-a");
    const second = join(directory, "threathq-connector-b.exe");
    await Deno.writeTextFile(first, "first executable");
    await Deno.writeTextFile(second, "second executable");

    await writeChecksums(directory, [second, first]);
    const sums = await Deno.readTextFile(join(directory, "SHA256SUMS"));
    const result = await runCommand("sha256sum", ["--check", "SHA256SUMS"], {
      cwd: directory,
    });

    assert.is(result.code, 0, result.stdout + result.stderr);
    assert.match(sums, /^[0-9a-f]{64} {2}threathq-connector-a\n/);
    assert.is(sums.trimEnd().split("\n").length, 2);
  });
});

t("checksums detect a changed file", async () => {
  await withTempDir(async (directory) => {
    const file = join(directory, "threathq-connector");
    await Deno.writeTextFile(file, "original");
    await writeChecksums(directory, [file]);
    await Deno.writeTextFile(file, "tampered");

    const result = await runCommand("sha256sum", ["--check", "SHA256SUMS"], {
      cwd: directory,
    });

    assert.is.not(result.code, 0);
  });
});

// Where dl.deno.land is out of reach, the compile must get as far as that
// download with no other error. Where it is reachable, as in GitHub Actions,
// the compile finishes and the executable must be the connector.
t("compile task reaches the runtime download", async () => {
  await withTempDir(async (directory) => {
    const result = await runCommand(
      Deno.execPath(),
      ["task", "--quiet", "compile", "--output-dir", directory],
      { env: withoutDenortBin() },
    );
    const executable = join(directory, "threathq-connector");

    if (result.code === 0) {
      const version = await runCommand(executable, ["--version"]);
      assert.is(version.stdout, `threathq-connector ${VERSION}\n`);
      return;
    }
    assert.ok(result.stderr.includes(RUNTIME_URL), result.stderr);
    assert.ok(result.stderr.includes("Setting up base binary"));
    assert.is(errorLines(result.stderr).length, 1, result.stderr);
    assert.match(
      errorLines(result.stderr)[0],
      "Writing deno compile executable",
    );
  });
});

t("compile with DENORT_BIN writes executable", async () => {
  await withTempDir(async (directory) => {
    const result = await runCommand(
      Deno.execPath(),
      ["task", "--quiet", "compile", "--output-dir", directory],
      { env: { ...Deno.env.toObject(), DENORT_BIN: denoExecutable() } },
    );
    const executable = join(directory, "threathq-connector");

    assert.is(result.code, 0, result.stderr);
    const info = await Deno.stat(executable);
    assert.ok(info.isFile);
    assert.is(info.mode! & 0o111, 0o111, "executable bits not set");

    // The runtime is a copy of the Deno executable, so a module counts as
    // embedded when its path occurs more often than in that copy.
    const compiled = await readBinaryText(executable);
    const runtime = await readBinaryText(denoExecutable());
    for (const module of await commandModules()) {
      const marker = `/src/cli/${module}`;
      assert.ok(
        countOccurrences(compiled, marker) > countOccurrences(runtime, marker),
        `${module} is not embedded`,
      );
    }

    const permissions = embeddedPermissions(compiled);
    assert.ok(permissions !== undefined, "no permissions in the metadata");
    assert.equal(permissions.allow_env, settingEnvPatterns());
    assert.equal(permissions.ignore_env, []);
    assert.equal(permissions.allow_net, []);
    assert.equal(permissions.allow_read, []);
    assert.equal(permissions.allow_write, []);
    assert.is(permissions.allow_run, null);
    assert.is(permissions.allow_ffi, null);
    assert.is(permissions.allow_sys, null);
    assert.is(permissions.prompt, false);
  });
});

t("compile:all rejects DENORT_BIN", async () => {
  await withTempDir(async (directory) => {
    const result = await runCommand(
      Deno.execPath(),
      ["task", "--quiet", "compile:all", "--output-dir", directory],
      { env: { ...Deno.env.toObject(), DENORT_BIN: denoExecutable() } },
    );

    assert.is(result.code, 1);
    assert.match(result.stderr, "DENORT_BIN is set");
    const written = [...Deno.readDirSync(directory)];
    assert.is(written.length, 0);
  });
});

t.run();
