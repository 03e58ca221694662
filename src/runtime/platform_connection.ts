/**
 * Start-up against the OpenCTI platform for the `run` command:
 * `openPlatformSession` with an API that counts every ping in the
 * connector's metrics.
 */
import type { Settings } from "../config/settings.ts";
import type { ConnectorMetrics } from "../health/connector_metrics.ts";
import type { Logger } from "../log/logger.ts";
import type { ConnectorHelper } from "../opencti/connector_helper.ts";
import type { KnowledgeApi, PlatformApi } from "../opencti/platform_api.ts";
import { openPlatformSession } from "../opencti/platform_session.ts";
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
  const session = await openPlatformSession({
    ...options,
    wrapApi: (api) => countPings(api, options.metrics),
  });
  return {
    api: session.api,
    helper: session.helper,
    version: session.version,
    close: session.close,
  };
}
