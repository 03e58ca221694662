/**
 * Builds a ThreatHQ client and API against a simulator for tests. Sleeps
 * resolve at once and are recorded, so retry and bucket waits cost no time
 * and tests can check the delays that were asked for.
 */
import { createMemoryLogger } from "../../src/log/logger.ts";
import { createThreatHqApi, type ThreatHqApi } from "../../src/threathq/api.ts";
import {
  createThreatHqClient,
  type ThreatHqClient,
  type ThreatHqClientOptions,
} from "../../src/threathq/http_client.ts";
import type { ThreatHqSimulator } from "./threathq_simulator.ts";

export interface TestClient {
  client: ThreatHqClient;
  api: ThreatHqApi;
  logger: ReturnType<typeof createMemoryLogger>;
  /** Every sleep the client asked for, in milliseconds. */
  sleeps: number[];
}

export function createTestClient(
  simulator: ThreatHqSimulator,
  overrides: Partial<ThreatHqClientOptions> = {},
): TestClient {
  const logger = createMemoryLogger({ secrets: [simulator.password] });
  const sleeps: number[] = [];
  const client = createThreatHqClient({
    baseUrl: simulator.url,
    user: simulator.user,
    password: simulator.password,
    ratePerSecond: 1000,
    burstCapacity: 1000,
    retries: 3,
    maxBackoffMs: 30_000,
    timeoutMs: 2_000,
    logger,
    random: () => 0.5,
    sleep: (ms, signal) => {
      signal?.throwIfAborted();
      sleeps.push(ms);
      return Promise.resolve();
    },
    ...overrides,
  });
  return { client, api: createThreatHqApi(client), logger, sleeps };
}

/** Log records whose message is exactly `message`. */
export function recordsWith(
  logger: ReturnType<typeof createMemoryLogger>,
  message: string,
): Array<Record<string, unknown>> {
  return logger.records().filter((record) => record.message === message);
}

/** Returns what the promise rejects with; fails when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the promise to reject, but it resolved");
}
