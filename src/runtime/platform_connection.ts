/**
 * Start-up against the OpenCTI platform for the `run` command, in the same
 * order as `openPlatformSession`: the HTTP client with the CA of
 * `OPENCTI_SSL_VERIFY`, the wait for `about { version }`, then the
 * registration. It differs in one point: the typed API it hands to the
 * connector helper counts every ping in the connector's metrics.
 */
import type { Settings } from "../config/settings.ts";
import type { ConnectorMetrics } from "../health/connector_metrics.ts";
import type { Logger } from "../log/logger.ts";
import { ConnectorHelper } from "../opencti/connector_helper.ts";
import { createGraphqlClient } from "../opencti/graphql_client.ts";
import {
  createPlatformApi,
  type KnowledgeApi,
  type PlatformApi,
} from "../opencti/platform_api.ts";
import { createPlatformHttpClient } from "../opencti/tls.ts";
import { waitForPlatform } from "../opencti/wait_for_platform.ts";
import type { Clock } from "./clock.ts";

export interface PlatformConnection {
  api: PlatformApi & KnowledgeApi;
  helper: ConnectorHelper;
  /** `about.version` of the platform. */
  version: string;
  /** Releases the HTTP client; call once, after the last request. */
  close(): void;
}

export interface ConnectPlatformOptions {
  settings: Pick<Settings, "opencti" | "connector" | "mq">;
  metrics: ConnectorMetrics;
  logger: Logger;
  clock: Clock;
  signal: AbortSignal;
  /** Replaces the global `fetch`, for tests. */
  fetch?: typeof fetch;
  /** Interval of the ping loop; default pycti's 40 seconds. */
  pingIntervalMs?: number;
}

/** Returns the API with `pingConnector` counted in the ping metrics. */
export function countPings<Api extends PlatformApi>(
  api: Api,
  metrics: ConnectorMetrics,
): Api {
  return {
    ...api,
    async pingConnector(connectorId, state, info, signal) {
      try {
        const returned = await api.pingConnector(
          connectorId,
          state,
          info,
          signal,
        );
        metrics.pingApi.inc();
        return returned;
      } catch (error) {
        metrics.pingApiErrors.inc();
        throw error;
      }
    },
  };
}

/**
 * Waits for the platform and registers the connector. Throws
 * `CredentialsRejectedError` for a rejected token, `TlsSettingError` or
 * `TlsVerificationError` for TLS problems, and the abort reason when the
 * signal aborts during the wait.
 */
export async function connectPlatform(
  options: ConnectPlatformOptions,
): Promise<PlatformConnection> {
  const { opencti } = options.settings;
  if (opencti.url === undefined || opencti.token === undefined) {
    throw new TypeError(
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
    const api = countPings(createPlatformApi(client), options.metrics);
    const version = await waitForPlatform(api, options);
    const helper = await ConnectorHelper.register({
      api,
      settings: options.settings,
      logger: options.logger,
      clock: options.clock,
      pingIntervalMs: options.pingIntervalMs,
    }, options.signal);
    return { api, helper, version, close };
  } catch (error) {
    close();
    throw error;
  }
}
