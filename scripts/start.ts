/**
 * `deno task start [ARGS...]`: runs `mod.ts` under `deno run` with exactly
 * the permission flags that `deno task compile` bakes into the executable.
 * SIGINT and SIGTERM are passed on to the program, and the exit status is
 * the program's.
 */
import { permissionFlags } from "./permissions.ts";

const ENTRY_POINT = new URL("../mod.ts", import.meta.url).pathname;

const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM"] as const;

/** Returns the `deno run` arguments for the program arguments `args`. */
export function startArgs(args: string[]): string[] {
  return ["run", ...permissionFlags(), ENTRY_POINT, ...args];
}

/** Linux numbers of the signals that commonly end a process. */
const SIGNAL_NUMBERS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGTERM: 15,
};

/** Returns 128 + the signal number, as shells report a killed process. */
function signalExitStatus(signal: Deno.Signal): number {
  const number = SIGNAL_NUMBERS[signal];
  return number === undefined ? 1 : 128 + number;
}

async function start(args: string[]): Promise<number> {
  const child = new Deno.Command(Deno.execPath(), {
    args: startArgs(args),
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();

  const forward = (signal: Deno.Signal) => () => child.kill(signal);
  const listeners = FORWARDED_SIGNALS.map((signal) => {
    const listener = forward(signal);
    Deno.addSignalListener(signal, listener);
    return [signal, listener] as const;
  });

  const status = await child.status;
  for (const [signal, listener] of listeners) {
    Deno.removeSignalListener(signal, listener);
  }

  return status.signal === null ? status.code : signalExitStatus(status.signal);
}

if (import.meta.main) {
  Deno.exit(await start(Deno.args));
}
