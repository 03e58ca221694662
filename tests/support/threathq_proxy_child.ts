/**
 * Child process of the proxy test: calls `feed/` through the ThreatHQ
 * client with the base URL and credentials from its arguments, and prints
 * `ok <feed count>` or the error's class name. The proxy comes only from
 * the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY), and so does the CA
 * of an HTTPS simulator (DENO_CERT).
 */
import { createMemoryLogger } from "../../src/log/logger.ts";
import { createThreatHqApi } from "../../src/threathq/api.ts";
import { createThreatHqClient } from "../../src/threathq/http_client.ts";

const [baseUrl, user, password] = Deno.args;
const client = createThreatHqClient({
  baseUrl,
  user,
  password,
  ratePerSecond: 10,
  burstCapacity: 10,
  retries: 0,
  maxBackoffMs: 1000,
  timeoutMs: 10_000,
  logger: createMemoryLogger(),
});

try {
  const feeds = await createThreatHqApi(client).feed();
  console.log(`ok ${Array.isArray(feeds) ? feeds.length : "?"}`);
} catch (error) {
  console.log(error instanceof Error ? error.name : String(error));
  Deno.exitCode = 1;
}
