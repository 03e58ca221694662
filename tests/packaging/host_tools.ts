/**
 * Helpers shared by the packaging tests: running a command, and deciding
 * whether a host requirement (root, systemd-analyze) is met.
 *
 * A missing requirement skips the tests that need it with a printed notice.
 * Under `CI=true` it is an error instead, because CI provides every
 * requirement and a skipped suite would hide a broken setup.
 */

export const PROJECT_ROOT = new URL("../../", import.meta.url).pathname;

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion and returns its exit status and output. */
export async function runCommand(
  program: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CommandResult> {
  const { code, stdout, stderr } = await new Deno.Command(program, {
    args,
    cwd: options.cwd ?? PROJECT_ROOT,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}

/** Returns the Deno version that `.ci/run` installs, such as `2.9.6`. */
export async function pinnedDenoVersion(): Promise<string> {
  const script = await Deno.readTextFile(`${PROJECT_ROOT}.ci/run`);
  const match = script.match(/npm install -g deno@(\d+\.\d+\.\d+)/);
  if (match === null) throw new Error(".ci/run installs no deno@x.y.z");
  return match[1];
}

/** Returns the real path of the running Deno executable, symlinks resolved. */
export function denoExecutable(): string {
  return Deno.realPathSync(Deno.execPath());
}

/**
 * Returns whether a requirement is met. An unmet requirement throws under
 * `CI=true`. Elsewhere it prints `skipped: ...` and returns false, so the
 * caller registers its tests with `suite.skip`.
 */
export function requirementMet(met: boolean, notice: string): boolean {
  if (met) return true;
  if (Deno.env.get("CI") === "true") {
    throw new Error(`${notice}; CI must provide it`);
  }
  console.log(`skipped: ${notice}`);
  return false;
}

/** Returns whether this process runs as root (uid 0). */
export function runsAsRoot(): boolean {
  return Deno.uid() === 0;
}

/** Returns whether a program is on PATH and runs with `--version`. */
export async function hasProgram(program: string): Promise<boolean> {
  try {
    const { code } = await new Deno.Command(program, {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return code === 0;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/** Creates a temporary folder, passes it to `body`, then deletes it. */
export async function withTempDir<T>(
  body: (directory: string) => Promise<T>,
): Promise<T> {
  const directory = await Deno.makeTempDir({ prefix: "threathq-packaging-" });
  try {
    return await body(directory);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
}
