/**
 * Starts the ThreatHQ simulator on loopback for demos and manual tests:
 * `deno task simulator [flags]`. It serves the project's fixture threats
 * plus generated ones, prints its URL and credentials as connector
 * settings, and runs until SIGINT or SIGTERM.
 */
import { parseArgs } from "node:util";
import {
  type Fault,
  type SimEndpoint,
  startThreatHqSimulator,
} from "../tests/support/threathq_simulator.ts";
import { loadFixtureThreats } from "../tests/support/threathq_fixtures.ts";
import { generateThreatData } from "../tests/support/threat_generator.ts";

const HELP = `Usage: deno task simulator [flags]

Serves a ThreatHQ API simulator on loopback.

  --port N            TCP port (default 8930; 0 picks a free one)
  --hostname HOST     127.0.0.1 (default), ::1 or localhost
  --threats N         generated malware threats (default 200)
  --phish N           generated phish threats (default 20)
  --page-size N       changelog entries per threat/updates page (default 1000)
  --pdf-bytes N       size of each PDF report, in bytes (default 20000)
  --screenshot-bytes N
                      size of each phish screenshot (a PNG), in bytes
                      (default 2000, at least 92)
  --latency MS        delay added to every API request (default 0)
  --duplicates SHARE  share of threats updated twice in the changelog (default 0.1)
  --deletions SHARE   extra threats published then deleted, as a share (default 0.05)
  --days N            the changelog spans the last N days (default 7)
  --seed N            seed of the generator (default 1)
  --no-fixtures       leave out tests/fixtures/threats/*.json
  --user NAME         Basic auth user (default simulator-user)
  --password TEXT     Basic auth password (default simulator-password)
  --fault SPEC        inject a fault; repeatable. SPEC is comma-separated:
                      status=CODE[,retry-after=S] | timeout | truncated |
                      unauthorized | latency=MS, then optional
                      endpoint=NAME, threat=ID, times=N|always
                      e.g. --fault status=429,retry-after=5,endpoint=threat/search
                      or --fault status=503,times=always,endpoint=screenshot/{id}
  --help              show this text

Endpoints: threat/updates, threat/search, threat/malware/{id},
threat/phish/{id}, t3/malware/{id}/pdf, screenshot/{id}, feed. Control,
without auth:
GET /_simulator/requests, POST /_simulator/faults (a fault as JSON),
DELETE /_simulator/faults.
`;

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

function fail(message: string): never {
  console.error(`${message}\n\n${HELP}`);
  Deno.exit(2);
}

function numberFlag(
  value: string | undefined,
  fallback: number,
  name: string,
): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) {
    fail(`--${name} must be a number of 0 or more, got "${value}"`);
  }
  return parsed;
}

/** Parses one `--fault` value such as `status=503,times=2`. */
export function parseFault(spec: string): Fault {
  const fields = new Map<string, string>();
  for (const part of spec.split(",")) {
    const [key, ...rest] = part.split("=");
    fields.set(key.trim(), rest.join("=").trim());
  }

  let fault: Fault;
  if (fields.has("status")) {
    fault = { kind: "status", status: Number(fields.get("status")) };
    if (fields.has("retry-after")) fault.retryAfter = fields.get("retry-after");
  } else if (fields.has("latency")) {
    fault = { kind: "latency", ms: Number(fields.get("latency")) };
  } else if (fields.has("timeout")) {
    fault = { kind: "timeout" };
  } else if (fields.has("truncated")) {
    fault = { kind: "truncated" };
  } else if (fields.has("unauthorized")) {
    fault = { kind: "unauthorized" };
  } else {
    fail(`--fault "${spec}" names no fault kind`);
  }

  const endpoint = fields.get("endpoint");
  const threat = fields.get("threat");
  if (endpoint !== undefined || threat !== undefined) {
    fault.match = {
      endpoint: endpoint as SimEndpoint | undefined,
      threatId: threat === undefined ? undefined : Number(threat),
    };
  }
  const times = fields.get("times");
  if (times !== undefined) {
    fault.times = times === "always" ? Infinity : Number(times);
  }
  return fault;
}

async function main() {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string" },
      hostname: { type: "string" },
      threats: { type: "string" },
      phish: { type: "string" },
      "page-size": { type: "string" },
      "pdf-bytes": { type: "string" },
      "screenshot-bytes": { type: "string" },
      latency: { type: "string" },
      duplicates: { type: "string" },
      deletions: { type: "string" },
      days: { type: "string" },
      seed: { type: "string" },
      "no-fixtures": { type: "boolean" },
      user: { type: "string" },
      password: { type: "string" },
      fault: { type: "string", multiple: true },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }

  const hostname = values.hostname ?? "127.0.0.1";
  if (!LOOPBACK.has(hostname)) fail(`--hostname must be a loopback address`);

  const malware = numberFlag(values.threats, 200, "threats");
  const phish = numberFlag(values.phish, 20, "phish");
  const days = numberFlag(values.days, 7, "days");
  const spanMs = days * 86_400_000;
  const startMs = Date.now() - spanMs;
  const data = generateThreatData({
    seed: numberFlag(values.seed, 1, "seed"),
    malware,
    phish,
    startMs,
    stepMs: Math.max(1, Math.floor(spanMs / Math.max(1, malware + phish) / 2)),
    duplicateShare: numberFlag(values.duplicates, 0.1, "duplicates"),
    deletionShare: numberFlag(values.deletions, 0.05, "deletions"),
  });

  const fixtures = values["no-fixtures"] ? [] : await loadFixtureThreats();
  const fixtureEvents = fixtures.flatMap((threat, index) => {
    const id = (threat as { id?: unknown }).id;
    if (!Number.isSafeInteger(id)) return [];
    return [{
      threatType: "malware" as const,
      threatId: id as number,
      occurredOn: startMs + index,
      deleted: false,
    }];
  });

  const simulator = startThreatHqSimulator({
    port: numberFlag(values.port, 8930, "port"),
    hostname,
    user: values.user,
    password: values.password,
    pageSize: numberFlag(values["page-size"], 1000, "page-size"),
    pdfBytes: numberFlag(values["pdf-bytes"], 20_000, "pdf-bytes"),
    screenshotBytes: numberFlag(
      values["screenshot-bytes"],
      2_000,
      "screenshot-bytes",
    ),
    latencyMs: numberFlag(values.latency, 0, "latency"),
    threats: [...fixtures, ...data.threats],
    changelog: [...fixtureEvents, ...data.changelog],
  });
  for (const spec of values.fault ?? []) {
    simulator.injectFault(parseFault(spec));
  }

  console.log(`ThreatHQ simulator listening on ${simulator.url}`);
  console.log(
    `Threats: ${data.threats.length} generated, ${fixtureEvents.length} from fixtures; changelog events: ${
      data.changelog.length + fixtureEvents.length
    }`,
  );
  console.log("Connector settings:");
  console.log(`COFENSE_THREATHQ_API_BASE_URL=${simulator.url}`);
  console.log(`COFENSE_THREATHQ_TOKEN_USER=${simulator.user}`);
  console.log(`COFENSE_THREATHQ_TOKEN_PASSWORD=${simulator.password}`);
  console.log(`COFENSE_THREATHQ_IMPORT_START_DATE=P${Math.ceil(days) + 1}D`);

  const stop = async () => {
    await simulator.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}

if (import.meta.main) await main();
