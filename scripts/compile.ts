/**
 * `deno task compile` builds `dist/threathq-connector` for this machine.
 * `deno task compile:all` (`--all`) builds one executable per release target
 * and writes `dist/SHA256SUMS` in `sha256sum` format.
 * `--output-dir DIR` writes to DIR instead of `dist`.
 *
 * `deno compile` downloads the runtime it embeds (`denort`) from
 * dl.deno.land once per version and target. Where that site is out of
 * reach, `DENORT_BIN=<path of a deno executable>` makes the compile finish
 * with that runtime instead. The result then runs as the plain Deno CLI,
 * not as the connector, so it only proves that the module graph and the
 * flags compile.
 */
import { createHash } from "node:crypto";
import { basename, join } from "node:path";
import { permissionFlags } from "./permissions.ts";

export const EXECUTABLE_NAME = "threathq-connector";

/** Release targets: Linux, macOS and Windows, as `deno compile --target`. */
export const RELEASE_TARGETS = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
] as const;

export type ReleaseTarget = typeof RELEASE_TARGETS[number];

const ENTRY_POINT = new URL("../mod.ts", import.meta.url).pathname;

/** Returns the executable's file name for a target, or for this machine. */
export function executableName(target?: ReleaseTarget): string {
  if (target === undefined) return EXECUTABLE_NAME;
  const suffix = target.includes("windows") ? ".exe" : "";
  return `${EXECUTABLE_NAME}-${target}${suffix}`;
}

/**
 * Returns the `deno compile` arguments. `--frozen` fails the build when
 * deno.lock is out of date, and `--exclude-unused-npm` embeds only the npm
 * packages that the module graph imports.
 */
export function compileArgs(output: string, target?: ReleaseTarget): string[] {
  const targetArgs = target === undefined ? [] : ["--target", target];
  return [
    "compile",
    "--frozen",
    "--exclude-unused-npm",
    ...targetArgs,
    ...permissionFlags(),
    "--output",
    output,
    ENTRY_POINT,
  ];
}

async function runCompile(output: string, target?: ReleaseTarget) {
  const { code } = await new Deno.Command(Deno.execPath(), {
    args: compileArgs(output, target),
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) {
    const name = target ?? "this machine";
    throw new Error(`deno compile for ${name} failed with exit status ${code}`);
  }
}

/** Returns the SHA-256 of a file as lowercase hex, reading it in chunks. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/** Writes `SHA256SUMS` in `sha256sum --check` format, one line per file. */
export async function writeChecksums(
  directory: string,
  files: string[],
): Promise<string> {
  const lines: string[] = [];
  for (const file of [...files].sort()) {
    lines.push(`${await sha256File(file)}  ${basename(file)}`);
  }

  const path = join(directory, "SHA256SUMS");
  await Deno.writeTextFile(path, lines.join("\n") + "\n");
  return path;
}

async function compileAll(directory: string): Promise<void> {
  if (Deno.env.get("DENORT_BIN") !== undefined) {
    throw new Error(
      "DENORT_BIN is set, so every target would embed that one runtime; unset it for compile:all",
    );
  }

  const files: string[] = [];
  for (const target of RELEASE_TARGETS) {
    const output = join(directory, executableName(target));
    await runCompile(output, target);
    files.push(output);
  }
  await writeChecksums(directory, files);
}

interface CompileOptions {
  all: boolean;
  outputDirectory: string;
}

function parseOptions(args: string[]): CompileOptions {
  const options: CompileOptions = { all: false, outputDirectory: "dist" };
  for (let index = 0; index < args.length; index++) {
    const arg = args[index];
    if (arg === "--all") {
      options.all = true;
    } else if (arg === "--output-dir" && index + 1 < args.length) {
      options.outputDirectory = args[++index];
    } else {
      throw new Error(
        `unknown argument "${arg}"; expected --all or --output-dir DIR`,
      );
    }
  }
  return options;
}

async function main(args: string[]): Promise<void> {
  const options = parseOptions(args);
  await Deno.mkdir(options.outputDirectory, { recursive: true });

  if (options.all) {
    await compileAll(options.outputDirectory);
  } else {
    await runCompile(join(options.outputDirectory, executableName()));
  }
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (error) {
    console.error(`compile: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
