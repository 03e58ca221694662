import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createMemoryLogger } from "../../src/log/logger.ts";
import { TlsVerificationError } from "../../src/opencti/errors.ts";
import { createGraphqlClient } from "../../src/opencti/graphql_client.ts";
import { ABOUT } from "../../src/opencti/operations.ts";
import {
  createPlatformHttpClient,
  loadBrokerTlsOptions,
  TlsSettingError,
} from "../../src/opencti/tls.ts";
import {
  createTestCertificates,
  type TestCertificates,
} from "../support/platform_tls.ts";

const t = suite("opencti: graphql tls");

let certificates: TestCertificates;
let server: Deno.HttpServer<Deno.NetAddr>;
let baseUrl: string;

t.before(async () => {
  certificates = await createTestCertificates();
  server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: certificates.certPem,
    key: certificates.keyPem,
    onListen: () => {},
  }, () => Response.json({ data: { about: { version: "6.9.17" } } }));
  baseUrl = `https://127.0.0.1:${server.addr.port}`;
});

t.after(async () => {
  await server.shutdown();
  await certificates.remove();
});

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
}

t("private CA fails without a CA file", async () => {
  const client = createGraphqlClient({
    url: baseUrl,
    token: "token",
    logger: createMemoryLogger(),
  });

  const error = await rejection(client.request(ABOUT));

  assert.instance(error, TlsVerificationError);
  const message = (error as Error).message;
  assert.match(message, `${baseUrl}/graphql`);
  assert.match(message, "OPENCTI_SSL_VERIFY=<path to CA file>");
  assert.match(message, "invalid peer certificate");
});

t("CA file from OPENCTI_SSL_VERIFY is trusted", async () => {
  const httpClient = await createPlatformHttpClient(certificates.caPath);
  assert.ok(httpClient);
  const client = createGraphqlClient({
    url: baseUrl,
    token: "token",
    logger: createMemoryLogger(),
    httpClient,
  });

  try {
    const data = await client.request(ABOUT);
    assert.equal(data, { about: { version: "6.9.17" } });
  } finally {
    httpClient.close();
  }
});

t("true needs no HTTP client", async () => {
  assert.is(await createPlatformHttpClient(true), undefined);
});

t("missing CA file names the setting", async () => {
  const path = `${certificates.dir}/absent.pem`;

  const error = await rejection(createPlatformHttpClient(path));

  assert.instance(error, TlsSettingError);
  assert.match((error as Error).message, "OPENCTI_SSL_VERIFY");
  assert.match((error as Error).message, path);
});

t("CA file without certificate is rejected", async () => {
  const path = `${certificates.dir}/server.key`;

  const error = await rejection(createPlatformHttpClient(path));

  assert.instance(error, TlsSettingError);
  assert.match((error as Error).message, "no PEM certificate");
});

t("broker CA accepts PEM text or path", async () => {
  const fromText = await loadBrokerTlsOptions({
    use_ssl_ca: certificates.caPem,
  });
  const fromPath = await loadBrokerTlsOptions({
    use_ssl_ca: certificates.caPath,
    use_ssl_key: `${certificates.dir}/server.key`,
    use_ssl_passphrase: "pass",
  });

  assert.is(fromText.ca, certificates.caPem);
  assert.is(fromPath.ca, certificates.caPem);
  assert.is(fromPath.key, certificates.keyPem);
  assert.is(fromPath.passphrase, "pass");
  assert.is(fromPath.rejectUnauthorized, true);
});

t("broker CA that is unreadable names it", async () => {
  const error = await rejection(
    loadBrokerTlsOptions({ use_ssl_ca: "/nonexistent/ca.pem" }),
  );

  assert.instance(error, TlsSettingError);
  assert.match((error as Error).message, "MQ_USE_SSL_CA");
});

t.run();
