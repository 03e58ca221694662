/**
 * The help text of every command in one layout: a usage line, a summary, the
 * options, the settings the command reads and closing notes such as exit
 * statuses. The settings part is generated from `settingEntries()`, so its
 * names, defaults and units always match the declaration. Lines wrap at 80
 * columns.
 */
import { settingEntries, type SettingEntry } from "../config/settings.ts";
import { VERSION } from "../version.ts";

/** Maximum line length of help text, in characters. */
export const HELP_WIDTH = 80;

/** Width of the option column, indentation included. */
const OPTION_COLUMN = 24;

/** Indentation of a setting's description under its name. */
const SETTING_INDENT = 6;

export interface OptionHelp {
  /** The flag with its value placeholder, such as `--config PATH`. */
  flag: string;
  description: string;
}

export interface CommandHelp {
  /** The usage line after `Usage: `, such as `threathq-connector check`. */
  usage: string;
  /** Paragraphs printed under the usage line. */
  summary: readonly string[];
  options: readonly OptionHelp[];
  /**
   * The settings the command reads: `all`, or config.yml paths such as
   * `connector.metrics_port`. Absent: the help has no settings part.
   */
  settings?: "all" | readonly string[];
  /** Paragraphs printed last, such as the exit statuses. */
  notes?: readonly string[];
}

export const CONFIG_OPTION: OptionHelp = {
  flag: "--config PATH",
  description:
    "Read settings from this .env or YAML file instead of the working directory's .env and config.yml",
};

export const HELP_OPTION: OptionHelp = {
  flag: "--help, -h",
  description: "Show this help",
};

export const VERSION_OPTION: OptionHelp = {
  flag: "--version",
  description: "Print the version",
};

const SOURCES_NOTE =
  "Each setting comes from the first of these that sets it: .env in the working directory, config.yml there (--config PATH replaces both files), the environment, the default.";

/** Returns the line `--version` prints, with its newline. */
export function versionLine(): string {
  return `threathq-connector ${VERSION}\n`;
}

/** Splits text into lines of at most `width` characters after `indent`. */
export function wrapText(text: string, width: number, indent = 0): string[] {
  const prefix = " ".repeat(indent);
  const lines: string[] = [];
  let line = "";

  for (const word of text.split(/\s+/).filter((word) => word !== "")) {
    if (line !== "" && indent + line.length + 1 + word.length > width) {
      lines.push(prefix + line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(prefix + line);
  return lines;
}

function formatOption(option: OptionHelp): string[] {
  const description = wrapText(
    option.description,
    HELP_WIDTH,
    OPTION_COLUMN,
  );
  const flag = `  ${option.flag}`;
  if (flag.length >= OPTION_COLUMN - 1) return [flag, ...description];

  const first = flag.padEnd(OPTION_COLUMN) + description[0].trimStart();
  return [first, ...description.slice(1)];
}

function describeRequirement(entry: SettingEntry): string | undefined {
  if (entry.spec.required === "always") return "Required.";
  if (entry.spec.required === "platform") {
    return "Required unless CONNECTOR_SEND_TO_QUEUE is false.";
  }
  return undefined;
}

function describeDefault(entry: SettingEntry): string | undefined {
  const value = entry.spec.default;
  if (value === undefined) return undefined;
  return value === "" ? "Default: none." : `Default: ${value}.`;
}

/**
 * Formats one setting: its environment variable with its requirement or
 * default on one line, then its description, a note for a secret, and its
 * config.yml path. The requirement or default moves under the name when the
 * line would pass the help width.
 */
export function formatSetting(entry: SettingEntry): string[] {
  const condition = describeRequirement(entry) ?? describeDefault(entry);
  const nameLine = `  ${entry.env}`;
  const withCondition = condition === undefined
    ? nameLine
    : `${nameLine}  ${condition}`;
  const fits = withCondition.length <= HELP_WIDTH;

  const parts = [
    entry.spec.description,
    fits ? undefined : condition,
    entry.spec.secret ? "Secret: never printed or logged." : undefined,
  ].filter((part) => part !== undefined);
  return [
    fits ? withCondition : nameLine,
    ...wrapText(parts.join(" "), HELP_WIDTH, SETTING_INDENT),
    `${" ".repeat(SETTING_INDENT)}config.yml: ${entry.path}`,
  ];
}

/** Returns the declared settings with these config.yml paths, in order. */
function selectSettings(paths: "all" | readonly string[]): SettingEntry[] {
  const entries = settingEntries();
  if (paths === "all") return entries;

  return paths.map((path) => {
    const entry = entries.find((candidate) => candidate.path === path);
    if (entry === undefined) {
      throw new Error(
        `Help lists the setting ${path}, which is not declared in src/config/settings.ts; use a declared section.key path`,
      );
    }
    return entry;
  });
}

function formatSettings(paths: "all" | readonly string[]): string[] {
  const heading = paths === "all"
    ? "Settings (environment variable names; the config.yml key is under each):"
    : "Settings read (environment variable names; the config.yml key is under each):";
  return [
    heading,
    ...wrapText(SOURCES_NOTE, HELP_WIDTH, 2),
    "",
    ...selectSettings(paths).flatMap(formatSetting),
  ];
}

/** Formats a command's help text, ending with a newline. */
export function formatHelp(help: CommandHelp): string {
  const lines = [`Usage: ${help.usage}`, ""];
  for (const paragraph of help.summary) {
    lines.push(...wrapText(paragraph, HELP_WIDTH), "");
  }

  lines.push("Options:", ...help.options.flatMap(formatOption), "");
  if (help.settings !== undefined) {
    lines.push(...formatSettings(help.settings), "");
  }
  for (const paragraph of help.notes ?? []) {
    lines.push(...wrapText(paragraph, HELP_WIDTH), "");
  }
  return lines.join("\n").trimEnd() + "\n";
}

interface CommandSummary {
  name: string;
  description: string;
}

const COMMANDS: readonly CommandSummary[] = [
  {
    name: "run",
    description: "Sync ThreatHQ into OpenCTI (the default command)",
  },
  {
    name: "check",
    description:
      "Check the settings, ThreatHQ, OpenCTI, RabbitMQ and the output directory",
  },
  {
    name: "convert [FILE|-]",
    description:
      "Map ThreatHQ threats from a file or standard input to a STIX 2.1 bundle",
  },
  {
    name: "healthcheck",
    description: "Exit 0 when the local /healthz returns 200, 1 otherwise",
  },
];

/** Returns the top-level help: the commands and the global options. */
export function topLevelHelp(): string {
  const commands = COMMANDS.flatMap((command) =>
    formatOption({ flag: command.name, description: command.description })
  );
  const lines = [
    "Usage: threathq-connector [command] [options]",
    "",
    ...wrapText(
      "OpenCTI external-import connector for Cofense ThreatHQ. Without a command it runs `run`.",
      HELP_WIDTH,
    ),
    "",
    "Commands:",
    ...commands,
    "",
    "Options:",
    ...formatOption({
      flag: "--help, -h",
      description:
        "Show this help; after a command, show that command's options and settings",
    }),
    ...formatOption(VERSION_OPTION),
    "",
    ...wrapText(
      "Every setting, with its unit and default, is listed by `threathq-connector run --help`.",
      HELP_WIDTH,
    ),
  ];
  return lines.join("\n") + "\n";
}

/**
 * The help of the `run` command, which reads every setting. `run.ts`
 * formats it with `formatHelp`.
 */
export const RUN_HELP: CommandHelp = {
  usage: "threathq-connector run [--config PATH]",
  summary: [
    "Syncs Cofense ThreatHQ into OpenCTI. Each run reads the ThreatHQ changelog from the saved position, maps each threat to STIX 2.1, sends the objects to the platform (CONNECTOR_SEND_TO_QUEUE, over RabbitMQ or the GraphQL API as CONNECTOR_QUEUE_PROTOCOL sets) and writes them as bundle files (CONNECTOR_SEND_TO_DIRECTORY). Without the platform, the state is kept in a file in the bundle directory.",
    "A run starts CONNECTOR_DURATION_PERIOD after the end of the previous one, until SIGTERM or SIGINT. It runs only once when CONNECTOR_RUN_AND_TERMINATE is true or the period is 0.",
  ],
  options: [CONFIG_OPTION, HELP_OPTION, VERSION_OPTION],
  settings: "all",
  notes: [
    "Exit status: 0 after the runs or a stop by signal, 1 when the single run of run-and-terminate mode failed, 2 for invalid settings or usage, 3 when ThreatHQ or OpenCTI rejects the credentials.",
  ],
};
