import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createMemoryLogger } from "../../src/log/logger.ts";
import { createFakeClock } from "../../src/runtime/clock.ts";
import {
  amqpChannelFactory,
  resolveAmqpConnection,
} from "../../src/opencti/amqp_connection.ts";
import { createAmqpPublisher } from "../../src/opencti/amqp_publisher.ts";
import { TlsVerificationError } from "../../src/opencti/errors.ts";
import {
  BROKER_HOST,
  BROKER_PORT,
  BROKER_URL,
  brokerAvailable,
  declareTestRoute,
} from "../support/amqp.ts";
import {
  createTestCertificates,
  type TestCertificates,
} from "../support/platform_tls.ts";
import { startTcpProxy, type TcpProxy } from "../support/tcp_proxy.ts";
import { createWorkerStandin, samplePage } from "../support/worker_standin.ts";

const t = suite("opencti: amqp over tls");
const test = await brokerAvailable() ? t : t.skip;

/** Starts a proxy to the broker that accepts TLS with a throwaway CA. */
async function tlsBroker(): Promise<{
  certificates: TestCertificates;
  proxy: TcpProxy;
}> {
  const certificates = await createTestCertificates();
  const proxy = startTcpProxy({
    target: `${BROKER_HOST}:${BROKER_PORT}`,
    tls: { cert: certificates.certPem, key: certificates.keyPem },
  });
  return { certificates, proxy };
}

function registered(port: number) {
  return {
    host: "localhost",
    port,
    vhost: "/",
    use_ssl: true,
    user: "guest",
    pass: "guest",
  };
}

test("page delivered with the CA", async () => {
  const { certificates, proxy } = await tlsBroker();
  const route = await declareTestRoute();
  const standin = await createWorkerStandin({
    amqpUrl: BROKER_URL,
    queue: route.queue,
    reportExpectation: () => Promise.resolve(),
  });
  const options = await resolveAmqpConnection(registered(proxy.port), {
    use_ssl_ca: certificates.caPath,
  });
  const publisher = createAmqpPublisher({
    connect: amqpChannelFactory(options),
    logger: createMemoryLogger(),
  });

  try {
    const result = await publisher.publishPage(samplePage(2), {
      applicantId: null,
      exchange: route.exchange,
      routingKey: route.routingKey,
    });
    await standin.waitFor((s) => s.objects.size >= result.messages);

    assert.is(result.messages, 9);
    assert.equal(standin.errors, []);
    assert.ok(proxy.accepted >= 1);
  } finally {
    await publisher.close();
    await standin.stop();
    await route.delete();
    await proxy.stop();
    await certificates.remove();
  }
});

test("unknown CA rejected at once", async () => {
  const { certificates, proxy } = await tlsBroker();
  const clock = createFakeClock();
  const options = await resolveAmqpConnection(registered(proxy.port), {});
  const publisher = createAmqpPublisher({
    connect: amqpChannelFactory(options),
    logger: createMemoryLogger(),
    clock,
  });

  try {
    const error = await publisher.publishPage(samplePage(1), {
      applicantId: null,
      exchange: "amqp.worker.exchange",
      routingKey: "push_routing_none",
    }).catch((caught: unknown) => caught);

    assert.instance(error, TlsVerificationError);
    assert.match((error as Error).message, /MQ_USE_SSL_CA/);
    assert.match((error as Error).message, `localhost:${proxy.port}`);
    assert.equal(clock.sleeps, []);
  } finally {
    await publisher.close();
    await proxy.stop();
    await certificates.remove();
  }
});

t.run();
