/**
 * The declaration of every setting: its config.yml key (`section.key`), its
 * environment variable (`SECTION_KEY`), its default, its validation and a
 * one-line description. The loader, the README table and OpenCTI's connector
 * metadata are all generated from this one list.
 */
import { z } from "zod";
import {
  booleanValue,
  choiceListValue,
  choiceValue,
  durationValue,
  integerValue,
  listValue,
  positiveNumberValue,
  startDateValue,
  textValue,
  TIMER_DURATION,
  urlValue,
  uuidValue,
} from "./parsers.ts";

export interface SettingSpec<T = unknown> {
  description: string;
  schema: z.ZodType<T>;
  /** The default as a user would write it; absent means no default. */
  default?: string;
  /** Never written to logs, errors or `check` output. */
  secret?: boolean;
  /**
   * `always`: needed to run at all. `platform`: needed when anything is sent
   * to the OpenCTI platform (not in directory-only mode).
   */
  required?: "always" | "platform";
  /** The JSON Schema type in OpenCTI's connector metadata. */
  kind: "string" | "integer" | "number" | "boolean" | "array";
  /** A value shown in samples where the user must fill one in. */
  example?: string;
}

function setting<const S extends SettingSpec<unknown>>(spec: S): S {
  return spec;
}

export const IMPACTS = ["Major", "Moderate", "Minor", "None"] as const;
export type Impact = typeof IMPACTS[number];

export const TLP_LEVELS = [
  "clear",
  "white",
  "green",
  "amber",
  "amber+strict",
  "red",
] as const;
export type TlpLevel = typeof TLP_LEVELS[number];

const logLevelValue = z.unknown().transform((raw, context) => {
  const word = String(raw).trim().toLowerCase();
  if (word === "warning") return "warn" as const;
  const parsed = choiceValue(["debug", "info", "warn", "error"]).safeParse(
    word,
  );
  if (parsed.success) return parsed.data;

  context.addIssue({
    code: "custom",
    message: "expected one of debug, info, warn, error",
  });
  return z.NEVER;
});

/** `true`, or the path of a CA bundle; `false` is rejected with the fix. */
const sslVerifyValue = z.unknown().transform((raw, context) => {
  const text = String(raw).trim();
  const word = text.toLowerCase();
  if (["true", "yes", "1"].includes(word)) return true as const;
  if (!["false", "no", "0"].includes(word)) return text;

  context.addIssue({
    code: "custom",
    message:
      "TLS verification cannot be switched off; give the platform's CA certificate instead: OPENCTI_SSL_VERIFY=<path to CA file (PEM)>",
  });
  return z.NEVER;
});

const rejectUnauthorizedValue = booleanValue.transform((value, context) => {
  if (value) return true as const;

  context.addIssue({
    code: "custom",
    message:
      "TLS verification of RabbitMQ cannot be switched off; give the broker's CA certificate instead: MQ_USE_SSL_CA=<path to CA file (PEM)>",
  });
  return z.NEVER;
});

/** `name:value;name:value`, split on `;` and then on the first `:`. */
const headersValue = z.unknown().transform((raw, context) => {
  const headers: Array<[string, string]> = [];
  for (const pair of String(raw).split(";")) {
    if (pair.trim() === "") continue;
    const colon = pair.indexOf(":");
    const name = colon > 0 ? pair.slice(0, colon).trim() : "";
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      context.addIssue({
        code: "custom",
        message:
          "expected name:value pairs separated by ';', such as X-Tenant:blue;X-Team:cti",
      });
      return z.NEVER;
    }
    headers.push([name, pair.slice(colon + 1).trim()]);
  }
  return headers;
});

export const SETTINGS = {
  opencti: {
    url: setting({
      description: "URL of the OpenCTI platform, without /graphql.",
      schema: urlValue,
      required: "platform",
      kind: "string",
      example: "http://localhost:8080",
    }),
    token: setting({
      description: "API token of the OpenCTI user the connector acts as.",
      schema: textValue,
      required: "platform",
      secret: true,
      kind: "string",
      example: "ChangeMe",
    }),
    ssl_verify: setting({
      description:
        "TLS verification of the platform: true, or the path of a CA bundle (PEM) for a private CA.",
      schema: sslVerifyValue,
      default: "true",
      kind: "string",
    }),
    json_logging: setting({
      description: "Write logs as JSON lines (false: plain text lines).",
      schema: booleanValue,
      default: "true",
      kind: "boolean",
    }),
    custom_headers: setting({
      description:
        "Extra HTTP headers for every platform request, as name:value;name:value.",
      schema: headersValue,
      secret: true,
      kind: "string",
    }),
  },
  connector: {
    id: setting({
      description:
        "Unique UUID of this connector instance (optional in directory-only mode).",
      schema: uuidValue,
      required: "platform",
      kind: "string",
      example: "ChangeMe",
    }),
    type: setting({
      description: "Connector type; always EXTERNAL_IMPORT.",
      schema: choiceValue(["EXTERNAL_IMPORT"]),
      default: "EXTERNAL_IMPORT",
      kind: "string",
    }),
    name: setting({
      description: "Name of the connector in OpenCTI and in the logs.",
      schema: textValue,
      default: "Cofense ThreatHQ",
      kind: "string",
    }),
    scope: setting({
      description: "Comma-separated scope registered with OpenCTI.",
      schema: listValue,
      default: "Cofense ThreatHQ",
      kind: "array",
    }),
    log_level: setting({
      description: "Lowest level logged: debug, info, warn or error.",
      schema: logLevelValue,
      default: "info",
      kind: "string",
    }),
    duration_period: setting({
      description:
        "Wait between the end of a run and the start of the next (ISO 8601; 0 runs once).",
      schema: durationValue(" (0 means run once)"),
      default: "PT5H",
      kind: "string",
    }),
    queue_threshold: setting({
      description:
        "Size of the platform's push queue, in MB, at which runs wait (buffering).",
      schema: positiveNumberValue,
      default: "500",
      kind: "number",
    }),
    run_and_terminate: setting({
      description: "Run once, then exit.",
      schema: booleanValue,
      default: "false",
      kind: "boolean",
    }),
    send_to_queue: setting({
      description: "Send the objects to the OpenCTI platform.",
      schema: booleanValue,
      default: "true",
      kind: "boolean",
    }),
    send_to_directory: setting({
      description: "Write each bundle as a JSON file to a directory.",
      schema: booleanValue,
      default: "false",
      kind: "boolean",
    }),
    send_to_directory_path: setting({
      description:
        "Directory for the bundle files; required when send_to_directory is true.",
      schema: textValue,
      kind: "string",
    }),
    send_to_directory_retention: setting({
      description:
        "Days to keep *.json files in that directory (0 keeps them forever).",
      schema: integerValue(0),
      default: "7",
      kind: "integer",
    }),
    queue_protocol: setting({
      description:
        "How objects reach the platform: amqp (its RabbitMQ) or api (GraphQL stixBundlePush).",
      schema: choiceValue(["amqp", "api"]),
      default: "amqp",
      kind: "string",
    }),
    expose_metrics: setting({
      description: "Serve /healthz, /readyz and /metrics over HTTP.",
      schema: booleanValue,
      default: "false",
      kind: "boolean",
    }),
    metrics_port: setting({
      description: "TCP port of the health and metrics server.",
      schema: integerValue(1, 65535),
      default: "9095",
      kind: "integer",
    }),
    metrics_bind_address: setting({
      description:
        "Address the health and metrics server listens on (0.0.0.0 for all).",
      schema: textValue,
      default: "127.0.0.1",
      kind: "string",
    }),
    metrics_namespace: setting({
      description: "Prefix of every metric name (namespace_).",
      schema: textValue,
      kind: "string",
    }),
    metrics_subsystem: setting({
      description: "Second prefix of every metric name (subsystem_).",
      schema: textValue,
      kind: "string",
    }),
  },
  cofense_threathq: {
    token_user: setting({
      description: "ThreatHQ API token name (HTTP Basic user).",
      schema: textValue,
      required: "always",
      secret: true,
      kind: "string",
      example: "ChangeMe",
    }),
    token_password: setting({
      description: "ThreatHQ API token password (HTTP Basic password).",
      schema: textValue,
      required: "always",
      secret: true,
      kind: "string",
      example: "ChangeMe",
    }),
    api_base_url: setting({
      description: "Base URL of the ThreatHQ REST API.",
      schema: urlValue,
      default: "https://www.threathq.com/apiv1/",
      kind: "string",
    }),
    api_leaky_bucket_rate: setting({
      description: "Sustained ThreatHQ request rate, in requests per second.",
      schema: positiveNumberValue,
      default: "10",
      kind: "number",
    }),
    api_leaky_bucket_capacity: setting({
      description: "Maximum number of ThreatHQ requests sent in one burst.",
      schema: integerValue(1),
      default: "10",
      kind: "integer",
    }),
    api_retry: setting({
      description: "Retries of a failed ThreatHQ request.",
      schema: integerValue(0),
      default: "5",
      kind: "integer",
    }),
    api_backoff: setting({
      description: "Maximum wait between two retries (ISO 8601 duration).",
      schema: durationValue("", TIMER_DURATION),
      default: "PT30S",
      kind: "string",
    }),
    api_timeout: setting({
      description: "Time limit of one ThreatHQ request (ISO 8601 duration).",
      schema: durationValue("", TIMER_DURATION),
      default: "PT60S",
      kind: "string",
    }),
    import_start_date: setting({
      description:
        "Where the first run starts: YYYY-MM-DD, a date-time with offset, or a duration before now (P30D).",
      schema: startDateValue,
      default: "P30D",
      kind: "string",
    }),
    import_report_pdf: setting({
      description:
        "Attach each malware threat's PDF report and each phish threat's screenshot to its OpenCTI report.",
      schema: booleanValue,
      default: "true",
      kind: "boolean",
    }),
    import_report_pdf_max_bytes: setting({
      description:
        "Largest PDF or screenshot attached, in bytes; larger ones are left off with a warning.",
      schema: integerValue(1),
      default: "10485760",
      kind: "integer",
    }),
    impact_to_exclude: setting({
      description:
        "Comma-separated impacts whose blocks and files are left out: Major, Moderate, Minor, None.",
      schema: choiceListValue(IMPACTS),
      default: "",
      kind: "array",
    }),
    tlp_level: setting({
      description:
        "TLP marking of everything imported: clear, green, amber, amber+strict or red.",
      schema: choiceValue(TLP_LEVELS),
      default: "amber+strict",
      kind: "string",
    }),
    promote_observables_as_indicators: setting({
      description: "Create an indicator for each malicious observable.",
      schema: booleanValue,
      default: "true",
      kind: "boolean",
    }),
  },
  mq: {
    host: setting({
      description:
        "RabbitMQ host, instead of the one the platform returns at registration.",
      schema: textValue,
      kind: "string",
    }),
    port: setting({
      description: "RabbitMQ port, instead of the platform's.",
      schema: integerValue(1, 65535),
      kind: "integer",
    }),
    vhost: setting({
      description: "RabbitMQ virtual host, instead of the platform's.",
      schema: textValue,
      kind: "string",
    }),
    use_ssl: setting({
      description:
        "Connect to RabbitMQ over TLS, instead of the platform's choice.",
      schema: booleanValue,
      kind: "boolean",
    }),
    user: setting({
      description: "RabbitMQ user, instead of the platform's.",
      schema: textValue,
      kind: "string",
    }),
    pass: setting({
      description: "RabbitMQ password, instead of the platform's.",
      schema: textValue,
      secret: true,
      kind: "string",
    }),
    use_ssl_ca: setting({
      description: "CA certificate of the broker: a PEM text or a file path.",
      schema: textValue,
      kind: "string",
    }),
    use_ssl_cert: setting({
      description:
        "Client certificate for RabbitMQ: a PEM text or a file path.",
      schema: textValue,
      kind: "string",
    }),
    use_ssl_key: setting({
      description:
        "Client private key for RabbitMQ: a PEM text or a file path.",
      schema: textValue,
      secret: true,
      kind: "string",
    }),
    use_ssl_passphrase: setting({
      description: "Passphrase of that private key.",
      schema: textValue,
      secret: true,
      kind: "string",
    }),
    use_ssl_reject_unauthorized: setting({
      description:
        "Verify the broker's TLS certificate; false is rejected (give MQ_USE_SSL_CA).",
      schema: rejectUnauthorizedValue,
      default: "true",
      kind: "boolean",
    }),
  },
} as const;

type Declaration = typeof SETTINGS;

type ValueOf<S> = S extends SettingSpec<unknown>
  ? S extends { default: string } ? z.output<S["schema"]>
  : z.output<S["schema"]> | undefined
  : never;

/** The resolved settings, grouped by section as in config.yml. */
export type Settings = {
  -readonly [Section in keyof Declaration]: {
    -readonly [Key in keyof Declaration[Section]]: ValueOf<
      Declaration[Section][Key]
    >;
  };
};

export type SectionName = keyof Declaration;

/** One declared setting with its names, for loaders and generators. */
export interface SettingEntry {
  section: SectionName;
  key: string;
  /** The config.yml path, such as `cofense_threathq.api_retry`. */
  path: string;
  /** The environment variable, such as `COFENSE_THREATHQ_API_RETRY`. */
  env: string;
  spec: SettingSpec<unknown>;
}

/** Lists every setting in declaration order. */
export function settingEntries(): SettingEntry[] {
  const entries: SettingEntry[] = [];
  for (const [section, specs] of Object.entries(SETTINGS)) {
    for (const [key, spec] of Object.entries(specs)) {
      entries.push({
        section: section as SectionName,
        key,
        path: `${section}.${key}`,
        env: `${section}_${key}`.toUpperCase(),
        spec: spec as SettingSpec<unknown>,
      });
    }
  }
  return entries;
}
