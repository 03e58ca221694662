import { suite } from "uvu";
import * as assert from "uvu/assert";
import { CredentialsRejectedError } from "../../src/errors.ts";
import { createMemoryLogger } from "../../src/log/logger.ts";
import { ConnectorHelper } from "../../src/opencti/connector_helper.ts";
import { createGraphqlClient } from "../../src/opencti/graphql_client.ts";
import { createPlatformApi } from "../../src/opencti/platform_api.ts";
import { createFakeClock } from "../../src/runtime/clock.ts";
import { helperSettings, startPlatform } from "../support/platform_fixture.ts";

const t = suite("opencti: helper registration");

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
}

t("register sends the connector input", async () => {
  const platform = await startPlatform();
  try {
    await ConnectorHelper.register({
      api: platform.api,
      settings: platform.settings,
      logger: createMemoryLogger(),
      clock: createFakeClock(),
    });

    const [call] = platform.standin.callsOf("RegisterConnector");
    assert.equal(call.variables.input, {
      id: platform.connectorId,
      name: "Cofense ThreatHQ",
      type: "EXTERNAL_IMPORT",
      scope: ["Cofense ThreatHQ"],
      auto: false,
      only_contextual: false,
      playbook_compatible: false,
    });
    assert.is(call.status, 200);
    assert.equal(call.errorCodes, []);
  } finally {
    await platform.stop();
  }
});

t("register keeps user, queues and connection", async () => {
  const platform = await startPlatform();
  try {
    const helper = await ConnectorHelper.register({
      api: platform.api,
      settings: platform.settings,
      logger: createMemoryLogger(),
      clock: createFakeClock(),
    });

    const id = platform.connectorId;
    assert.is(helper.connectorId, id);
    assert.is(helper.connectorUserId, platform.standin.user.id);
    assert.is(helper.registration.pushExchange, "amqp.worker.exchange");
    assert.is(helper.registration.pushRoutingKey, `push_routing_${id}`);
    assert.is(helper.registration.pushQueue, `push_${id}`);
    assert.is(helper.amqpConnection.host, "127.0.0.1");
    assert.is(helper.amqpConnection.port, 5672);
    assert.is(helper.amqpConnection.vhost, "/");
    assert.is(helper.amqpConnection.username, "guest");
    assert.is(helper.amqpConnection.useSsl, false);
    assert.is(helper.getState(), undefined);
  } finally {
    await platform.stop();
  }
});

t("MQ settings override the platform's", async () => {
  const platform = await startPlatform({
    connection: { host: "rabbitmq", port: 5671, user: "opencti" },
  });
  try {
    const helper = await ConnectorHelper.register({
      api: platform.api,
      settings: helperSettings(platform.connectorId, {}, {
        host: "127.0.0.1",
        port: 5672,
        vhost: "octi",
        user: "guest",
        pass: "guest",
      }),
      logger: createMemoryLogger(),
      clock: createFakeClock(),
    });

    assert.is(helper.amqpConnection.host, "127.0.0.1");
    assert.is(helper.amqpConnection.port, 5672);
    assert.is(helper.amqpConnection.vhost, "octi");
    assert.is(helper.amqpConnection.username, "guest");
    assert.is(helper.amqpConnection.password, "guest");
  } finally {
    await platform.stop();
  }
});

t("saved state is loaded at registration", async () => {
  const platform = await startPlatform();
  try {
    const options = {
      api: platform.api,
      settings: platform.settings,
      logger: createMemoryLogger(),
      clock: createFakeClock(),
    };
    const first = await ConnectorHelper.register(options);
    await first.setAndPing({ next_position: "p-42" });

    const second = await ConnectorHelper.register(options);

    assert.equal(second.getState(), { next_position: "p-42" });
  } finally {
    await platform.stop();
  }
});

t("rejected token names OPENCTI_TOKEN", async () => {
  const platform = await startPlatform({ token: "right" });
  const wrongToken = createPlatformApi(createGraphqlClient({
    url: platform.standin.url,
    token: "wrong-token-value",
    logger: createMemoryLogger(),
  }));
  try {
    const error = await rejection(
      ConnectorHelper.register({
        api: wrongToken,
        settings: platform.settings,
        logger: createMemoryLogger(),
        clock: createFakeClock(),
      }),
    );

    assert.instance(error, CredentialsRejectedError);
    assert.match((error as Error).message, "OPENCTI_TOKEN");
    assert.match((error as Error).message, "AUTH_REQUIRED");
    assert.not.match((error as Error).message, "wrong-token-value");
    assert.is(platform.standin.connectors.size, 0);
  } finally {
    await platform.stop();
  }
});

t("missing capability rejects the token", async () => {
  const platform = await startPlatform();
  platform.standin.user.capabilities = ["KNOWLEDGE"];
  try {
    const error = await rejection(
      ConnectorHelper.register({
        api: platform.api,
        settings: platform.settings,
        logger: createMemoryLogger(),
        clock: createFakeClock(),
      }),
    );

    assert.instance(error, CredentialsRejectedError);
    assert.match((error as Error).message, "FORBIDDEN_ACCESS");
    assert.equal(
      platform.standin.callsOf("RegisterConnector")[0].errorCodes,
      ["FORBIDDEN_ACCESS"],
    );
  } finally {
    await platform.stop();
  }
});

t("no call deletes the connector", async () => {
  const platform = await startPlatform();
  try {
    const helper = await ConnectorHelper.register({
      api: platform.api,
      settings: platform.settings,
      logger: createMemoryLogger(),
      clock: createFakeClock(),
    });
    await helper.ping();

    const names = platform.standin.calls.map((call) => call.query);
    assert.ok(names.every((query) => !query.includes("deleteConnector")));
  } finally {
    await platform.stop();
  }
});

t.run();
