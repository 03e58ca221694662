/**
 * A throwaway certificate authority and a server certificate for 127.0.0.1
 * and localhost, made with openssl in a temporary directory, for TLS tests
 * against loopback servers.
 */

export interface TestCertificates {
  /** Folder holding the files; removed by `remove()`. */
  dir: string;
  caPath: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  remove(): Promise<void>;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  const { code, stderr } = await new Deno.Command("openssl", {
    args,
    cwd: dir,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(
      `openssl ${args[0]} failed (exit ${code}): ${
        new TextDecoder().decode(stderr)
      }`,
    );
  }
}

/** Creates a CA and a leaf certificate that the CA signed. */
export async function createTestCertificates(): Promise<TestCertificates> {
  const dir = await Deno.makeTempDir({ prefix: "threathq-tls-" });
  const days = "2";

  await openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "ca.key",
    "-out",
    "ca.pem",
    "-days",
    days,
    "-subj",
    "/CN=threathq-connector test CA",
  ]);
  await openssl(dir, [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    "server.key",
    "-out",
    "server.csr",
    "-subj",
    "/CN=localhost",
  ]);
  await Deno.writeTextFile(
    `${dir}/server.ext`,
    [
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "basicConstraints=CA:FALSE",
      "extendedKeyUsage=serverAuth",
    ].join("\n") + "\n",
  );
  await openssl(dir, [
    "x509",
    "-req",
    "-in",
    "server.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "server.pem",
    "-days",
    days,
    "-extfile",
    "server.ext",
  ]);

  return {
    dir,
    caPath: `${dir}/ca.pem`,
    caPem: await Deno.readTextFile(`${dir}/ca.pem`),
    certPem: await Deno.readTextFile(`${dir}/server.pem`),
    keyPem: await Deno.readTextFile(`${dir}/server.key`),
    remove: () => Deno.remove(dir, { recursive: true }),
  };
}
