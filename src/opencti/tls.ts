/**
 * TLS trust for the platform and the broker. Verification is always on: a
 * private CA is trusted by giving its certificate (`OPENCTI_SSL_VERIFY` as a
 * file path, `MQ_USE_SSL_CA` as PEM text or a file path), never by switching
 * verification off. The settings loader rejects `OPENCTI_SSL_VERIFY=false`
 * and `MQ_USE_SSL_REJECT_UNAUTHORIZED=false` with that advice.
 */

const PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----";

/** A CA, client certificate or key that cannot be used. */
export class TlsSettingError extends Error {
  constructor(readonly setting: string, message: string) {
    super(message);
    this.name = "TlsSettingError";
  }
}

/**
 * Reads the CA bundle named by `OPENCTI_SSL_VERIFY`. Returns undefined for
 * `true`, which means the default trust store (Mozilla's roots, or the ones
 * `DENO_TLS_CA_STORE` and `DENO_CERT` select).
 */
export async function readPlatformCa(
  sslVerify: true | string,
): Promise<string | undefined> {
  if (sslVerify === true) return undefined;

  const pem = await readFileFor("OPENCTI_SSL_VERIFY", sslVerify);
  requireCertificate("OPENCTI_SSL_VERIFY", sslVerify, pem);
  return pem;
}

/**
 * Creates the HTTP client for the platform when `OPENCTI_SSL_VERIFY` names a
 * CA file, trusting that CA in addition to the default roots. The caller
 * closes it when the process stops.
 */
export async function createPlatformHttpClient(
  sslVerify: true | string,
): Promise<Deno.HttpClient | undefined> {
  const pem = await readPlatformCa(sslVerify);
  if (pem === undefined) return undefined;

  return Deno.createHttpClient({ caCerts: [pem] });
}

/** The `MQ_USE_SSL_*` settings as given: PEM texts or file paths. */
export interface BrokerTlsSettings {
  use_ssl_ca?: string;
  use_ssl_cert?: string;
  use_ssl_key?: string;
  use_ssl_passphrase?: string;
}

/** TLS options for the AMQP client, in node:tls terms. */
export interface BrokerTlsOptions {
  ca?: string;
  cert?: string;
  key?: string;
  passphrase?: string;
  /** Always true: an unverified broker certificate is rejected. */
  rejectUnauthorized: true;
}

/**
 * Resolves the broker's TLS settings, reading each value that is a file
 * path. A value that starts with `-----BEGIN` is PEM text, as in pycti.
 */
export async function loadBrokerTlsOptions(
  settings: BrokerTlsSettings,
): Promise<BrokerTlsOptions> {
  const options: BrokerTlsOptions = { rejectUnauthorized: true };

  if (settings.use_ssl_ca !== undefined) {
    options.ca = await pemOrFile("MQ_USE_SSL_CA", settings.use_ssl_ca);
    requireCertificate("MQ_USE_SSL_CA", settings.use_ssl_ca, options.ca);
  }
  if (settings.use_ssl_cert !== undefined) {
    options.cert = await pemOrFile("MQ_USE_SSL_CERT", settings.use_ssl_cert);
  }
  if (settings.use_ssl_key !== undefined) {
    options.key = await pemOrFile("MQ_USE_SSL_KEY", settings.use_ssl_key);
  }
  if (settings.use_ssl_passphrase !== undefined) {
    options.passphrase = settings.use_ssl_passphrase;
  }
  return options;
}

async function pemOrFile(setting: string, value: string): Promise<string> {
  if (value.trimStart().startsWith("-----BEGIN")) return value;
  return await readFileFor(setting, value);
}

async function readFileFor(setting: string, path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new TlsSettingError(
      setting,
      `${setting} names a file that cannot be read: ${path} (${reason}); give the path of a PEM file`,
    );
  }
}

function requireCertificate(setting: string, source: string, pem: string) {
  if (pem.includes(PEM_CERTIFICATE)) return;

  const where = source.trimStart().startsWith("-----BEGIN")
    ? "the PEM text given"
    : source;
  throw new TlsSettingError(
    setting,
    `${setting}: ${where} contains no PEM certificate (${PEM_CERTIFICATE}); give the CA certificate in PEM form`,
  );
}

/** Error causes from the innermost out, as Deno's fetch nests them. */
function causeChain(error: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = error;
  while (current !== undefined && current !== null && chain.length < 8) {
    chain.push(current);
    current = current instanceof Error ? current.cause : undefined;
  }
  return chain.reverse();
}

/**
 * Returns whether a failed connection was rejected by certificate
 * verification. Deno's fetch (rustls) reports "invalid peer certificate"
 * and node:tls reports codes such as `SELF_SIGNED_CERT_IN_CHAIN`.
 */
export function isCertificateError(error: unknown): boolean {
  return causeChain(error).some((item) => {
    const text = item instanceof Error
      ? `${item.message} ${(item as { code?: unknown }).code ?? ""}`
      : String(item);
    return /invalid peer certificate|certificate|CERT_|UNABLE_TO_VERIFY/i
      .test(text);
  });
}

/** Returns the innermost reason of a failed fetch, without the request line. */
export function describeFetchFailure(error: unknown): string {
  const innermost = causeChain(error)[0];
  const text = innermost instanceof Error
    ? innermost.message
    : String(innermost);
  return text.replace(/^error sending request for url \([^)]*\): /, "");
}
