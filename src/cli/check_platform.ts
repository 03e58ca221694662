/**
 * The `opencti` check: `about { version }`, then `me` for the token and its
 * capabilities, then the read-only `connector(id)` query, which returns the
 * RabbitMQ connection the platform holds for an already registered
 * connector (`Connector.config.connection` in the 6.8 and 6.9 schemas). It
 * never registers the connector or sends any mutation.
 */
import { z } from "zod";
import type { Settings } from "../config/settings.ts";
import { CredentialsRejectedError } from "../errors.ts";
import type { Logger } from "../log/logger.ts";
import type { RegisteredAmqpConnection } from "../opencti/amqp_connection.ts";
import {
  GraphqlError,
  PlatformHttpError,
  PlatformResponseError,
  PlatformUnreachableError,
  TlsVerificationError,
} from "../opencti/errors.ts";
import {
  createGraphqlClient,
  type GraphqlClient,
} from "../opencti/graphql_client.ts";
import {
  createPlatformApi,
  type PlatformUser,
} from "../opencti/platform_api.ts";
import {
  createPlatformHttpClient,
  describeFetchFailure,
  TlsSettingError,
} from "../opencti/tls.ts";
import { deadlineSignal, timedOut } from "./check_deadline.ts";
import {
  type CheckResult,
  errorText,
  failed,
  failedWithAdvice,
  passed,
  skipped,
} from "./check_report.ts";

/**
 * The connector with the broker connection the platform returns for it.
 * Only `check` sends it, because the connector itself reads the connection
 * from `registerConnector`.
 *
 * NOTE: the platform stand-in fills `config` here as the schema allows. No
 * live OpenCTI was checked for whether this query returns `config` (and the
 * broker password) to a user with the Connector role.
 */
export const CHECK_CONNECTOR = `query CheckConnector($id: String!) {
  connector(id: $id) {
    id
    name
    config {
      connection {
        host
        vhost
        use_ssl
        port
        user
        pass
      }
    }
  }
}`;

/** The broker settings of the platform check, or the reason it has none. */
export type BrokerLookup =
  | {
    kind: "registered";
    connectorId: string;
    /** The platform's broker settings. `pass` is a secret. */
    connection: RegisteredAmqpConnection;
  }
  | { kind: "unregistered"; connectorId: string }
  /** The platform check failed or returned no connection, for `reason`. */
  | { kind: "unknown"; reason: string };

export interface PlatformCheck {
  result: CheckResult;
  broker: BrokerLookup;
}

export interface PlatformCheckOptions {
  settings: Pick<Settings, "opencti" | "connector">;
  logger: Logger;
  timeoutMs: number;
  /** Aborted when the command is interrupted. */
  signal: AbortSignal;
}

/** Capabilities that let a user register a connector and push bundles. */
const CONNECTOR_CAPABILITIES = ["CONNECTORAPI", "BYPASS"];

/** The oldest platform version whose connector protocol this connector follows. */
const OLDEST_SUPPORTED = { major: 6, minor: 8 };

const TOKEN_FIX =
  "check OPENCTI_TOKEN, the API token of the connector's OpenCTI user (shown on that user's profile page)";

const URL_FIX =
  "check OPENCTI_URL (the platform's base URL, without /graphql) and that the platform is running; a platform that is still starting is reported as unreachable too";

const ROLE_FIX =
  "give the user the Connector role in OpenCTI (Settings > Security > Roles), which has CONNECTORAPI and MODULES_MODMANAGE";

const connectorSchema = z.object({
  connector: z.object({
    id: z.string(),
    name: z.string(),
    config: z.object({
      connection: z.object({
        host: z.string(),
        vhost: z.string(),
        use_ssl: z.boolean(),
        port: z.number().int(),
        user: z.string(),
        pass: z.string(),
      }),
    }).nullable(),
  }).nullable(),
});

type ConnectorView = z.infer<typeof connectorSchema>["connector"];

/** Runs the platform check and finds the broker of a registered connector. */
export async function checkPlatform(
  options: PlatformCheckOptions,
): Promise<PlatformCheck> {
  const { opencti, connector } = options.settings;
  if (!connector.send_to_queue) {
    const reason = "not used: CONNECTOR_SEND_TO_QUEUE is false";
    return { result: skipped("opencti", reason), broker: unknown(reason) };
  }
  if (opencti.url === undefined || opencti.token === undefined) {
    const result = failed(
      "opencti",
      "OPENCTI_URL or OPENCTI_TOKEN is not set",
      URL_FIX,
    );
    return { result, broker: unknown("the platform check failed") };
  }

  let httpClient: Deno.HttpClient | undefined;
  try {
    httpClient = await createPlatformHttpClient(opencti.ssl_verify);
  } catch (error) {
    if (!(error instanceof TlsSettingError)) throw error;
    const result = failedWithAdvice("opencti", error);
    return { result, broker: unknown("the platform check failed") };
  }

  const client = createGraphqlClient({
    url: opencti.url,
    token: opencti.token,
    customHeaders: opencti.custom_headers,
    logger: options.logger,
    httpClient,
  });
  try {
    return await probePlatform(client, opencti.url, options);
  } finally {
    httpClient?.close();
  }
}

async function probePlatform(
  client: GraphqlClient,
  url: string,
  options: PlatformCheckOptions,
): Promise<PlatformCheck> {
  const connectorId = options.settings.connector.id ?? "";
  const api = createPlatformApi(client);
  const signal = deadlineSignal(options.timeoutMs, options.signal);
  const started = performance.now();

  let version: string;
  let user: PlatformUser;
  let connector: ConnectorView;
  try {
    version = await api.fetchVersion(signal);
    user = await api.fetchUser(signal);
    connector = await fetchConnector(client, connectorId, signal);
  } catch (error) {
    if (options.signal.aborted) throw error;
    const result = describeFailure(error, client.endpoint, {
      signal,
      timeoutMs: options.timeoutMs,
    });
    return { result, broker: unknown("the platform check failed") };
  }
  const elapsedMs = Math.round(performance.now() - started);

  const problem = versionProblem(version) ?? capabilityProblem(user);
  const registration = connector === null
    ? `connector ${connectorId} not registered yet`
    : `connector ${connectorId} registered as ${
      JSON.stringify(connector.name)
    }`;
  const result = problem ?? passed(
    "opencti",
    `OpenCTI ${version} at ${url}, token accepted for user ${
      JSON.stringify(user.name)
    }, ${registration} (3 requests, ${elapsedMs} ms)`,
  );
  return { result, broker: brokerOf(connectorId, connector) };
}

async function fetchConnector(
  client: GraphqlClient,
  connectorId: string,
  signal: AbortSignal,
): Promise<ConnectorView> {
  const data = await client.request(CHECK_CONNECTOR, { id: connectorId }, {
    signal,
  });
  const parsed = connectorSchema.safeParse(data);
  if (parsed.success) return parsed.data.connector;

  const issue = parsed.error.issues[0];
  throw new PlatformResponseError(
    "CheckConnector",
    `${issue.path.join(".") || "data"}: ${issue.message}`,
  );
}

function brokerOf(connectorId: string, connector: ConnectorView): BrokerLookup {
  if (connector === null) return { kind: "unregistered", connectorId };
  if (connector.config === null) {
    return unknown(
      `the platform returned no broker settings for connector ${connectorId}`,
    );
  }
  return {
    kind: "registered",
    connectorId,
    connection: connector.config.connection,
  };
}

function unknown(reason: string): BrokerLookup {
  return { kind: "unknown", reason };
}

function versionProblem(version: string): CheckResult | undefined {
  const match = /^(\d+)\.(\d+)/.exec(version);
  if (match === null) return undefined;

  const major = Number(match[1]);
  const minor = Number(match[2]);
  const { major: oldestMajor, minor: oldestMinor } = OLDEST_SUPPORTED;
  if (major > oldestMajor || (major === oldestMajor && minor >= oldestMinor)) {
    return undefined;
  }
  return failed(
    "opencti",
    `OpenCTI ${version} is older than ${oldestMajor}.${oldestMinor}, the oldest version this connector supports`,
    `upgrade the platform to ${oldestMajor}.${oldestMinor} or later`,
  );
}

function capabilityProblem(user: PlatformUser): CheckResult | undefined {
  const capable = user.capabilities.some((capability) =>
    CONNECTOR_CAPABILITIES.includes(capability)
  );
  if (capable) return undefined;

  return failed(
    "opencti",
    `token accepted for user ${
      JSON.stringify(user.name)
    }, but that user lacks the CONNECTORAPI capability needed to register`,
    ROLE_FIX,
  );
}

function describeFailure(
  error: unknown,
  endpoint: string,
  deadline: { signal: AbortSignal; timeoutMs: number },
): CheckResult {
  if (timedOut(deadline.signal)) {
    return failed(
      "opencti",
      `no response from ${endpoint} within ${deadline.timeoutMs} ms`,
      URL_FIX,
    );
  }
  if (error instanceof CredentialsRejectedError) {
    const detail = /\(([^)]*)\)/.exec(error.message)?.[1];
    const text = detail === undefined ? "" : ` (${detail})`;
    return failed("opencti", `token rejected${text}`, TOKEN_FIX);
  }
  if (error instanceof TlsVerificationError) {
    return failed(
      "opencti",
      `TLS certificate of ${error.target} failed verification (${
        describeFetchFailure(error.cause)
      })`,
      "if the platform uses a private or self-signed CA, set OPENCTI_SSL_VERIFY=<path to CA file>",
    );
  }
  if (error instanceof PlatformUnreachableError) {
    return failed(
      "opencti",
      `${error.url} is unreachable (${describeFetchFailure(error.cause)})`,
      URL_FIX,
    );
  }
  if (error instanceof PlatformHttpError) return describeHttpError(error);
  if (
    error instanceof GraphqlError && error.code === "FORBIDDEN_ACCESS" &&
    error.operationName === "CheckConnector"
  ) {
    return failed(
      "opencti",
      "the token's user may not read connectors (FORBIDDEN_ACCESS on connector), which the connector needs for its queue size",
      ROLE_FIX,
    );
  }
  if (error instanceof GraphqlError) {
    return failed("opencti", error.message, "check the platform's log");
  }
  if (error instanceof PlatformResponseError) {
    return failed(
      "opencti",
      error.message,
      "check that OPENCTI_URL points at an OpenCTI platform",
    );
  }
  return failed("opencti", `request failed: ${errorText(error)}`, URL_FIX);
}

const MAX_EXCERPT = 120;

function describeHttpError(error: PlatformHttpError): CheckResult {
  const excerpt = error.bodyExcerpt.length > MAX_EXCERPT
    ? `${error.bodyExcerpt.slice(0, MAX_EXCERPT)}…`
    : error.bodyExcerpt;
  const body = excerpt === "" ? "" : `: ${excerpt}`;
  const message = `${error.url} returned HTTP ${error.httpStatus}${body}`;

  if (error.httpStatus === 404) {
    return failed(
      "opencti",
      message,
      "OPENCTI_URL must be the platform's base URL, without /graphql",
    );
  }
  if (error.httpStatus >= 500) {
    return failed(
      "opencti",
      message,
      "the platform or a proxy in between is failing (a platform that is still starting answers so too); check again later",
    );
  }
  return failed("opencti", message, URL_FIX);
}
