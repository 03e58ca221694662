/**
 * Command-line entry point of threathq-connector, the OpenCTI external-import
 * connector for Cofense ThreatHQ.
 *
 *     threathq-connector [run]        sync ThreatHQ into OpenCTI (default)
 *     threathq-connector check        test the settings and each service
 *     threathq-connector convert FILE map one threat file to a STIX bundle
 *     threathq-connector healthcheck  exit 0 when the local /healthz is 200
 *     threathq-connector --version
 */
import type { CliContext, Command } from "./src/cli/context.ts";
import { topLevelHelp } from "./src/cli/help.ts";
import { EXIT_INVALID_SETTINGS, EXIT_OK } from "./src/errors.ts";
import { VERSION } from "./src/version.ts";

const COMMANDS: Record<string, () => Promise<Command>> = {
  check: async () => (await import("./src/cli/check.ts")).checkCommand,
  convert: async () => (await import("./src/cli/convert.ts")).convertCommand,
  healthcheck: async () =>
    (await import("./src/cli/healthcheck.ts")).healthcheckCommand,
  run: async () => (await import("./src/cli/run.ts")).runCommand,
};

/** The command run when the arguments name none. */
const DEFAULT_COMMAND = "run";

const USAGE = topLevelHelp();

/**
 * Writes all bytes, and drops them once the reader has gone away (as in
 * `threathq-connector check | head -1`), so a closed pipe ends no command.
 */
function writeAll(
  stream: { writeSync(bytes: Uint8Array): number },
  bytes: Uint8Array,
): void {
  try {
    let written = 0;
    while (written < bytes.length) {
      written += stream.writeSync(bytes.subarray(written));
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
  }
}

/**
 * Time a command gets to stop after SIGTERM or SIGINT. A request that
 * ignores the abort (such as one to a platform that stopped responding)
 * cannot hold the process past it; exiting then loses nothing, because a
 * position is saved only after its data was confirmed.
 */
const SHUTDOWN_GRACE_MS = 9_000;

function exitAfterGrace(signal: string): void {
  const timer = setTimeout(() => {
    const line = JSON.stringify({
      timestamp: new Date().toISOString(),
      level: "WARNING",
      name: "threathq-connector",
      message: "Shutdown did not finish in time; exiting",
      attributes: { signal, grace_ms: SHUTDOWN_GRACE_MS },
    });
    writeAll(Deno.stderr, new TextEncoder().encode(line + "\n"));
    Deno.exit(EXIT_OK);
  }, SHUTDOWN_GRACE_MS);
  Deno.unrefTimer(timer);
}

function processContext(): CliContext {
  const encoder = new TextEncoder();
  const controller = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => {
      controller.abort(signal);
      exitAfterGrace(signal);
    });
  }
  return {
    env: Deno.env.toObject(),
    cwd: Deno.cwd(),
    stdin: Deno.stdin.readable,
    stdout: (text) => writeAll(Deno.stdout, encoder.encode(text)),
    stderr: (text) => writeAll(Deno.stderr, encoder.encode(text)),
    signal: controller.signal,
  };
}

/** Runs the command named in `args` and returns its exit status. */
export async function main(
  args: string[],
  context: CliContext,
): Promise<number> {
  const [name, ...rest] = args;
  if (name === "--version") {
    context.stdout(`threathq-connector ${VERSION}\n`);
    return 0;
  }
  if (name === "--help" || name === "-h") {
    context.stdout(USAGE);
    return 0;
  }
  if (name === undefined || name.startsWith("-")) {
    const command = await COMMANDS[DEFAULT_COMMAND]();
    return await command(args, context);
  }

  const load = COMMANDS[name];
  if (load === undefined) {
    context.stderr(`Unknown command "${name}".\n\n${USAGE}`);
    return EXIT_INVALID_SETTINGS;
  }
  const command = await load();
  return await command(rest, context);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args, processContext()));
}
