/**
 * Start-up against the OpenCTI platform, in pycti's order: build the HTTP
 * client (with the CA from `OPENCTI_SSL_VERIFY`), wait for `about { version
 * }`, then register the connector. The caller runs the ping loop and closes
 * the session when the process stops.
 */
import type { Settings } from "../config/settings.ts";
import type { Logger } from "../log/logger.ts";
import type { Clock } from "../runtime/clock.ts";
import { ConnectorHelper } from "./connector_helper.ts";
import { createGraphqlClient, type GraphqlClient } from "./graphql_client.ts";
import {
  createPlatformApi,
  type KnowledgeApi,
  type PlatformApi,
} from "./platform_api.ts";
import { createPlatformHttpClient } from "./tls.ts";
import { waitForPlatform } from "./wait_for_platform.ts";

export interface PlatformSession {
  client: GraphqlClient;
  api: PlatformApi & KnowledgeApi;
  helper: ConnectorHelper;
  /** `about.version` of the platform. */
  version: string;
  /** Releases the HTTP client; call once, after the last request. */
  close(): void;
}

export interface OpenSessionOptions {
  settings: Pick<Settings, "opencti" | "connector" | "mq">;
  logger: Logger;
  clock: Clock;
  signal?: AbortSignal;
  /** Replaces the global `fetch`, for tests. */
  fetch?: typeof fetch;
  /** Interval of the ping loop; default pycti's 40 seconds. */
  pingIntervalMs?: number;
  /** Wraps the API before any request, such as to count pings. */
  wrapApi?: (
    api: PlatformApi & KnowledgeApi,
  ) => PlatformApi & KnowledgeApi;
}

/**
 * Opens the session. Throws `CredentialsRejectedError` for a rejected token
 * (exit status 3), `TlsSettingError` for an unreadable CA file,
 * `TlsVerificationError` when the platform's certificate fails, and the
 * abort reason when `signal` aborts during the wait.
 */
export async function openPlatformSession(
  options: OpenSessionOptions,
): Promise<PlatformSession> {
  const { opencti } = options.settings;
  if (opencti.url === undefined || opencti.token === undefined) {
    throw new Error(
      "OPENCTI_URL and OPENCTI_TOKEN are required to send to OpenCTI; set both, or send to a directory only",
    );
  }

  const httpClient = await createPlatformHttpClient(opencti.ssl_verify);
  const close = () => httpClient?.close();
  try {
    const client = createGraphqlClient({
      url: opencti.url,
      token: opencti.token,
      customHeaders: opencti.custom_headers,
      logger: options.logger,
      httpClient,
      fetch: options.fetch,
    });
    const created = createPlatformApi(client);
    const api = options.wrapApi?.(created) ?? created;
    const version = await waitForPlatform(api, options);
    const helper = await ConnectorHelper.register({
      api,
      settings: options.settings,
      logger: options.logger,
      clock: options.clock,
      pingIntervalMs: options.pingIntervalMs,
    }, options.signal);
    return { client, api, helper, version, close };
  } catch (error) {
    close();
    throw error;
  }
}
