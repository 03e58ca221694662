/** The process resources a command uses, injected so tests can fake them. */
export interface CliContext {
  /** Environment variables. */
  env: Record<string, string | undefined>;
  /** Working directory, where `.env` and `config.yml` are looked for. */
  cwd: string;
  stdin: ReadableStream<Uint8Array>;
  /** Writes to standard output (bundles, command results). */
  stdout: (text: string) => void;
  /** Writes to standard error (logs). */
  stderr: (text: string) => void;
  /** Aborted on SIGTERM or SIGINT. */
  signal: AbortSignal;
}

export type Command = (args: string[], context: CliContext) => Promise<number>;
