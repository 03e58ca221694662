/**
 * The runtime flags of the connector, declared once. `deno task compile`
 * bakes them into the executable and `deno task start` passes them to
 * `deno run`, so a test that runs under `deno task start` also proves that
 * the compiled executable has every permission it needs.
 */
import { settingEntries } from "../src/config/settings.ts";

/** One runtime flag and the reason the connector needs it. */
export interface RuntimeFlag {
  flag: string;
  reason: string;
}

/** Lists `PREFIX_*` for each settings section, such as `OPENCTI_*`. */
export function settingEnvPatterns(): string[] {
  const prefixes = settingEntries().map((entry) =>
    `${entry.section.toUpperCase()}_*`
  );
  return [...new Set(prefixes)];
}

/** Returns the connector's runtime flags in the order they are passed. */
export function runtimeFlags(): RuntimeFlag[] {
  return [
    {
      flag: "--no-prompt",
      reason:
        "A missing permission throws instead of prompting, under deno run as in the executable.",
    },
    {
      flag: "--allow-net",
      reason:
        "The OpenCTI, ThreatHQ and RabbitMQ hosts and the health listener address are run-time settings, so no host list can be fixed at build time.",
    },
    {
      flag: `--allow-env=${settingEnvPatterns().join(",")}`,
      reason:
        "Every setting's environment variable starts with one of these prefixes, which come from the settings declaration.",
    },
    {
      flag: "--ignore-env",
      reason:
        "Other variables read as unset instead of throwing, for Deno.env.toObject() and for graphql 16 (NODE_ENV at import) and yaml 2.9 (LOG_TOKENS when parsing).",
    },
    {
      flag: "--allow-read",
      reason:
        "The --config file, the working directory's .env and config.yml, CA files and convert's input are paths given at run time.",
    },
    {
      flag: "--allow-write",
      reason:
        "The bundle output directory and the state file are paths given at run time.",
    },
    {
      flag: "--v8-flags=--optimize-for-size",
      reason:
        "Keeps peak memory flat over long syncs with PDFs; without it V8 lets short-lived strings grow to several times the live heap before collecting (docs/benchmarks.md).",
    },
  ];
}

/** Returns just the flags, ready to pass to `deno run` or `deno compile`. */
export function permissionFlags(): string[] {
  return runtimeFlags().map((entry) => entry.flag);
}

if (import.meta.main) {
  for (const entry of runtimeFlags()) {
    console.log(`${entry.flag}\n    ${entry.reason}`);
  }
}
