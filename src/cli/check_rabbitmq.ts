/**
 * The `rabbitmq` check: opens an AMQP connection and a confirm channel, as
 * the publisher does, and closes them. The broker comes from the platform's
 * settings for an already registered connector, overridden by the `MQ_*`
 * settings as at run time. Without a registration, the `MQ_*` settings
 * alone are used when they give the host and the credentials, because only
 * `registerConnector` would return the rest, and `check` never registers.
 */
import type { Settings } from "../config/settings.ts";
import {
  amqpChannelFactory,
  type AmqpConnectionOptions,
  describeBroker,
  type RegisteredAmqpConnection,
  resolveAmqpConnection,
} from "../opencti/amqp_connection.ts";
import { TlsVerificationError } from "../opencti/errors.ts";
import { TlsSettingError } from "../opencti/tls.ts";
import { deadlineSignal, raceSignal, timedOut } from "./check_deadline.ts";
import type { BrokerLookup } from "./check_platform.ts";
import {
  type CheckResult,
  errorText,
  failed,
  failedWithAdvice,
  passed,
  skipped,
} from "./check_report.ts";

export interface RabbitMqCheckOptions {
  settings: Pick<Settings, "connector" | "mq">;
  broker: BrokerLookup;
  timeoutMs: number;
  /** Aborted when the command is interrupted. */
  signal: AbortSignal;
}

/** RabbitMQ's standard ports for AMQP and AMQP over TLS. */
const AMQP_PORT = 5672;
const AMQPS_PORT = 5671;

/** Shown in RabbitMQ's management UI for the check's connection. */
const CONNECTION_NAME = "threathq-connector check";

const MQ_SETTINGS = [
  ["host", "MQ_HOST"],
  ["port", "MQ_PORT"],
  ["vhost", "MQ_VHOST"],
  ["use_ssl", "MQ_USE_SSL"],
  ["user", "MQ_USER"],
  ["pass", "MQ_PASS"],
] as const;

interface Target {
  options: AmqpConnectionOptions;
  /** The origin of the settings, shown in the result line. */
  source: string;
  /** Whether the host is the platform's own, not MQ_HOST. */
  platformHost: boolean;
  /** Whether MQ_USER or MQ_PASS gives the credentials. */
  credentialsFromSettings: boolean;
}

/** Connects to the broker and returns the check's result. */
export async function checkRabbitMq(
  options: RabbitMqCheckOptions,
): Promise<CheckResult> {
  const { connector, mq } = options.settings;
  if (!connector.send_to_queue) {
    return skipped("rabbitmq", "not used: CONNECTOR_SEND_TO_QUEUE is false");
  }
  if (connector.queue_protocol === "api") {
    return skipped(
      "rabbitmq",
      "not used: CONNECTOR_QUEUE_PROTOCOL is api, which sends bundles over the GraphQL API",
    );
  }

  let target: Target | string;
  try {
    target = await resolveTarget(mq, options.broker);
  } catch (error) {
    if (!(error instanceof TlsSettingError)) throw error;
    return failedWithAdvice("rabbitmq", error);
  }
  if (typeof target === "string") return skipped("rabbitmq", target);

  return await connect(target, options);
}

async function resolveTarget(
  mq: Settings["mq"],
  broker: BrokerLookup,
): Promise<Target | string> {
  if (broker.kind === "registered") {
    const options = await resolveAmqpConnection(
      broker.connection,
      mq,
      CONNECTION_NAME,
    );
    const overrides = MQ_SETTINGS.filter(([key]) => mq[key] !== undefined)
      .map(([, name]) => name);
    const withOverrides = overrides.length === 0
      ? ""
      : `, with ${overrides.join(", ")}`;
    return {
      options,
      source:
        `broker settings from the platform for connector ${broker.connectorId}${withOverrides}`,
      platformHost: mq.host === undefined,
      credentialsFromSettings: mq.user !== undefined || mq.pass !== undefined,
    };
  }

  const unknownReason = broker.kind === "unregistered"
    ? `connector ${broker.connectorId} is not registered yet`
    : broker.reason;
  if (
    mq.host === undefined || mq.user === undefined || mq.pass === undefined
  ) {
    return `${unknownReason}, so the platform's broker settings are unknown; set MQ_HOST, MQ_USER and MQ_PASS to check the broker without them`;
  }

  const options = await resolveAmqpConnection(
    settingsOnly(mq as SettingsOnlyMq),
    mq,
    CONNECTION_NAME,
  );
  return {
    options,
    source: `from the MQ_* settings; ${unknownReason}`,
    platformHost: false,
    credentialsFromSettings: true,
  };
}

type SettingsOnlyMq = Settings["mq"] & {
  host: string;
  user: string;
  pass: string;
};

/**
 * Fills the connection fields that only registration would return with
 * RabbitMQ's own defaults: port 5672 (5671 with TLS), virtual host `/`,
 * plain AMQP.
 */
function settingsOnly(mq: SettingsOnlyMq): RegisteredAmqpConnection {
  const useSsl = mq.use_ssl ?? false;
  return {
    host: mq.host,
    port: mq.port ?? (useSsl ? AMQPS_PORT : AMQP_PORT),
    vhost: mq.vhost ?? "/",
    use_ssl: useSsl,
    user: mq.user,
    pass: mq.pass,
  };
}

async function connect(
  target: Target,
  options: RabbitMqCheckOptions,
): Promise<CheckResult> {
  const signal = deadlineSignal(options.timeoutMs, options.signal);
  const opening = amqpChannelFactory(target.options)();
  const started = performance.now();

  try {
    const channel = await raceSignal(opening, signal);
    await channel.close();
  } catch (error) {
    if (options.signal.aborted) throw error;
    // A handshake that outlives the limit still closes when it completes.
    opening.then((channel) => channel.close(), () => {});
    return describeFailure(error, target, {
      signal,
      timeoutMs: options.timeoutMs,
    });
  }

  const elapsedMs = Math.round(performance.now() - started);
  return passed(
    "rabbitmq",
    `connected to ${describeBroker(target.options)} as ${
      JSON.stringify(target.options.username)
    } (${target.source}, ${elapsedMs} ms)`,
  );
}

function describeFailure(
  error: unknown,
  target: Target,
  deadline: { signal: AbortSignal; timeoutMs: number },
): CheckResult {
  const broker = describeBroker(target.options);
  const hostFix = target.platformHost
    ? `the platform's host ${
      JSON.stringify(target.options.host)
    } may resolve only inside the platform's network; set MQ_HOST and MQ_PORT to the broker's address as seen from this host`
    : "check MQ_HOST and MQ_PORT, and that RabbitMQ is running";

  if (timedOut(deadline.signal)) {
    return failed(
      "rabbitmq",
      `no AMQP handshake with ${broker} within ${deadline.timeoutMs} ms`,
      `${hostFix}; the port must be RabbitMQ's AMQP port (5672, or 5671 with MQ_USE_SSL=true)`,
    );
  }
  if (error instanceof TlsVerificationError) {
    return failed(
      "rabbitmq",
      `TLS certificate of ${broker} failed verification (${
        errorText(error.cause)
      })`,
      "if the broker uses a private or self-signed CA, set MQ_USE_SSL_CA=<path to CA file>",
    );
  }

  const reason = errorText(error).replace(/^connection closed: /, "");
  const user = JSON.stringify(target.options.username);
  if (reason.includes("ACCESS_REFUSED")) {
    return failed(
      "rabbitmq",
      `${broker} refused the login of user ${user} (${reason})`,
      target.credentialsFromSettings
        ? "check MQ_USER and MQ_PASS"
        : "set MQ_USER and MQ_PASS to the broker credentials, or correct the platform's",
    );
  }
  if (reason.includes("NOT_ALLOWED")) {
    return failed(
      "rabbitmq",
      `${broker} refused user ${user} access to virtual host ${
        JSON.stringify(target.options.vhost)
      } (${reason})`,
      "check MQ_VHOST and the user's permissions on that virtual host",
    );
  }
  return failed("rabbitmq", `${broker} is unreachable (${reason})`, hostFix);
}
