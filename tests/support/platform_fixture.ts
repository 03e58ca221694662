/**
 * A platform stand-in with a GraphQL client, the typed API and helper
 * settings for a fresh connector id, for connector helper tests.
 */
import { createMemoryLogger } from "../../src/log/logger.ts";
import { createGraphqlClient } from "../../src/opencti/graphql_client.ts";
import {
  createPlatformApi,
  type PlatformApi,
} from "../../src/opencti/platform_api.ts";
import type { HelperSettings } from "../../src/opencti/connector_helper.ts";
import {
  createPlatformStandin,
  type PlatformStandin,
  type PlatformStandinOptions,
} from "./platform_standin.ts";

export interface PlatformFixture {
  standin: PlatformStandin;
  api: PlatformApi;
  connectorId: string;
  settings: HelperSettings;
  stop(): Promise<void>;
}

/** Helper settings with the defaults of `src/config/settings.ts`. */
export function helperSettings(
  connectorId: string,
  overrides: Partial<HelperSettings["connector"]> = {},
  mq: Partial<HelperSettings["mq"]> = {},
): HelperSettings {
  return {
    connector: {
      id: connectorId,
      name: "Cofense ThreatHQ",
      type: "EXTERNAL_IMPORT",
      scope: ["Cofense ThreatHQ"],
      run_and_terminate: false,
      duration_period: 5 * 60 * 60 * 1000,
      queue_threshold: 500,
      ...overrides,
    },
    mq: {
      host: undefined,
      port: undefined,
      vhost: undefined,
      use_ssl: undefined,
      user: undefined,
      pass: undefined,
      use_ssl_ca: undefined,
      use_ssl_cert: undefined,
      use_ssl_key: undefined,
      use_ssl_passphrase: undefined,
      use_ssl_reject_unauthorized: true,
      ...mq,
    },
  };
}

/** Starts a stand-in and an API client for it. */
export async function startPlatform(
  options: PlatformStandinOptions = {},
): Promise<PlatformFixture> {
  const standin = await createPlatformStandin(options);
  const client = createGraphqlClient({
    url: standin.url,
    token: options.token ?? "standin-token",
    logger: createMemoryLogger(),
  });
  const connectorId = crypto.randomUUID();
  return {
    standin,
    api: createPlatformApi(client),
    connectorId,
    settings: helperSettings(connectorId),
    stop: () => standin.stop(),
  };
}
