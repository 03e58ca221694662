import { suite } from "uvu";
import * as assert from "uvu/assert";
import { AMQPClient } from "@cloudamqp/amqp-client";
import { createMemoryLogger } from "../../src/log/logger.ts";
import { GraphqlError } from "../../src/opencti/errors.ts";
import {
  createGraphqlClient,
  type GraphqlClient,
} from "../../src/opencti/graphql_client.ts";
import {
  ABOUT,
  ADD_EXPECTATIONS,
  DELETE_WORK,
  GET_CONNECTOR,
  GET_WORK,
  IS_WORK_ALIVE,
  PING_CONNECTOR,
  REGISTER_CONNECTOR,
  REPORT_EXPECTATION,
  STIX_BUNDLE_PUSH,
  WORK_ADD,
  WORK_TO_PROCESSED,
} from "../../src/opencti/operations.ts";
import {
  createPlatformStandin,
  DEFAULT_AMQP_URL,
  type PlatformStandin,
  schemaAvailable,
} from "../support/platform_standin.ts";

const t = suite("opencti: platform stand-in");

const withSchema = schemaAvailable() ? t : t.skip;
if (!schemaAvailable()) {
  console.log("skipped: ../shared not found (stand-in validation tests)");
}

let standin: PlatformStandin;
let client: GraphqlClient;
let amqp: AMQPClient;

t.before(async () => {
  standin = await createPlatformStandin();
  client = createGraphqlClient({
    url: standin.url,
    token: "standin-token",
    logger: createMemoryLogger(),
  });
  amqp = new AMQPClient(DEFAULT_AMQP_URL);
  await amqp.connect();
});

t.after(async () => {
  await amqp.close();
  await standin.stop();
});

async function register(connectorId = crypto.randomUUID()) {
  const data = await client.request(REGISTER_CONNECTOR, {
    input: {
      id: connectorId,
      name: "Cofense ThreatHQ",
      type: "EXTERNAL_IMPORT",
      scope: ["Cofense ThreatHQ"],
      auto: false,
      only_contextual: false,
      playbook_compatible: false,
    },
  }) as { registerConnector: Record<string, unknown> };
  return { connectorId, registration: data.registerConnector };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a failure");
}

const INFO = {
  run_and_terminate: false,
  buffering: false,
  queue_threshold: 500,
  queue_messages_size: 0,
  next_run_datetime: null,
  last_run_datetime: null,
};

t("about returns the version", async () => {
  const data = await client.request(ABOUT);

  assert.equal(data, { about: { version: "6.9.17" } });
  assert.is(standin.callsOf("healthCheck").length, 1);
});

withSchema("invalid request gets HTTP 400", async () => {
  const error = await rejection(
    client.request("query Bad { about { nonsense } }"),
  ) as GraphqlError;

  assert.instance(error, GraphqlError);
  assert.is(error.httpStatus, 400);
  assert.is(error.code, "GRAPHQL_VALIDATION_FAILED");
  assert.is(standin.callsOf("Bad").at(-1)?.status, 400);
});

withSchema("null for a non-null variable gets 400", async () => {
  const error = await rejection(
    client.request(ADD_EXPECTATIONS, { id: null, expectations: 1 }),
  ) as GraphqlError;

  assert.is(error.httpStatus, 400);
  assert.is(error.code, "BAD_USER_INPUT");
});

withSchema("missing connectorInfo field gets 400", async () => {
  const { connectorId } = await register();
  const { buffering: _, ...incomplete } = INFO;

  const error = await rejection(
    client.request(PING_CONNECTOR, {
      id: connectorId,
      state: "null",
      connectorInfo: incomplete,
    }),
  ) as GraphqlError;

  assert.is(error.httpStatus, 400);
  assert.is(error.code, "BAD_USER_INPUT");
});

t("without schema nothing is validated", async () => {
  const loose = await createPlatformStandin({ schemaPath: null });
  const looseClient = createGraphqlClient({
    url: loose.url,
    token: "standin-token",
    logger: createMemoryLogger(),
  });

  try {
    const data = await looseClient.request("query Odd { about { nonsense } }");
    assert.is(loose.validating, false);
    assert.equal(data, { about: { nonsense: null } });
  } finally {
    await loose.stop();
  }
});

t("register declares the queues", async () => {
  const { connectorId, registration } = await register();

  const config = registration.config as Record<string, unknown>;
  assert.is(registration.id, connectorId);
  assert.is(registration.connector_state, null);
  assert.is(registration.connector_user_id, standin.user.id);
  assert.is(config.push, `push_${connectorId}`);
  assert.is(config.push_routing, `push_routing_${connectorId}`);
  assert.is(config.push_exchange, "amqp.worker.exchange");
  assert.equal(config.connection, {
    host: "127.0.0.1",
    vhost: "/",
    use_ssl: false,
    port: 5672,
    user: "guest",
    pass: "guest",
  });

  // The binding routes a message published to the push exchange.
  const channel = await amqp.channel();
  await channel.confirmSelect();
  await channel.basicPublish(
    "amqp.worker.exchange",
    `push_routing_${connectorId}`,
    "probe",
  );
  const message = await channel.basicGet(`push_${connectorId}`, {
    noAck: true,
  });
  assert.is(message?.bodyString(), "probe");
  await channel.close();
});

t("ping saves the state", async () => {
  const { connectorId } = await register();

  const data = await client.request(PING_CONNECTOR, {
    id: connectorId,
    state: '{"next_position":"abc"}',
    connectorInfo: INFO,
  }) as { pingConnector: Record<string, unknown> };

  assert.is(data.pingConnector.connector_state, '{"next_position":"abc"}');
  const stored = standin.connectors.get(connectorId);
  assert.is(stored?.connector_state, '{"next_position":"abc"}');
  assert.equal(stored?.connector_info, INFO);
});

t("reset drops the next ping's state", async () => {
  const { connectorId } = await register();
  await client.request(PING_CONNECTOR, {
    id: connectorId,
    state: '{"a":1}',
    connectorInfo: INFO,
  });

  await standin.resetState(connectorId);
  const first = await client.request(PING_CONNECTOR, {
    id: connectorId,
    state: '{"a":1}',
    connectorInfo: INFO,
  }) as { pingConnector: Record<string, unknown> };
  const second = await client.request(PING_CONNECTOR, {
    id: connectorId,
    state: "null",
    connectorInfo: INFO,
  }) as { pingConnector: Record<string, unknown> };

  assert.is(first.pingConnector.connector_state, "");
  assert.is(second.pingConnector.connector_state, "null");
});

t("reset purges the push queue", async () => {
  const { connectorId } = await register();
  const channel = await amqp.channel();
  await channel.confirmSelect();
  await channel.basicPublish(
    "amqp.worker.exchange",
    `push_routing_${connectorId}`,
    "stale",
  );

  await standin.resetState(connectorId);

  const queue = await channel.queueDeclare(`push_${connectorId}`, {
    passive: true,
  });
  assert.is(queue.messageCount, 0);
  await channel.close();
});

t("ping of unknown connector fails", async () => {
  const error = await rejection(
    client.request(PING_CONNECTOR, {
      id: crypto.randomUUID(),
      state: "null",
    }),
  ) as GraphqlError;

  assert.instance(error, GraphqlError);
  assert.is(error.code, "FUNCTIONAL_ERROR");
});

t("work completes when reports match", async () => {
  const { connectorId } = await register();
  const added = await client.request(WORK_ADD, {
    connectorId,
    friendlyName: "Cofense ThreatHQ - run @ 2024-01-15T10:30:00Z",
  }) as { workAdd: { id: string } };
  const id = added.workAdd.id;

  await client.request(ADD_EXPECTATIONS, { id, expectations: 2 });
  await client.request(WORK_TO_PROCESSED, {
    id,
    message: "done",
    inError: false,
  });
  const pending = standin.works.get(id);
  assert.is(pending?.status, "progress");

  await client.request(REPORT_EXPECTATION, { id, error: null });
  await client.request(REPORT_EXPECTATION, {
    id,
    error: { error: "boom", source: "{}" },
  });

  const work = standin.works.get(id);
  assert.match(id, `work_${connectorId}_`);
  assert.is(work?.status, "complete");
  assert.is(work?.expected, 2);
  assert.is(work?.processed, 2);
  assert.is(work?.errors.length, 1);
  assert.equal(work?.callsAfterProcessed, [
    "reportExpectation",
    "reportExpectation",
  ]);

  const read = await client.request(GET_WORK, { id }) as {
    work: { status: string; tracking: Record<string, number> };
  };
  assert.is(read.work.status, "complete");
  assert.equal(read.work.tracking, {
    import_expected_number: 2,
    import_processed_number: 2,
  });
});

t("empty work completes at toProcessed", async () => {
  const { connectorId } = await register();
  const added = await client.request(WORK_ADD, {
    connectorId,
    friendlyName: "empty",
  }) as { workAdd: { id: string } };
  const id = added.workAdd.id;

  await client.request(WORK_TO_PROCESSED, { id, message: "nothing" });
  const alive = await client.request(IS_WORK_ALIVE, { id }) as {
    isWorkAlive: boolean;
  };

  assert.is(standin.works.get(id)?.status, "complete");
  assert.is(alive.isWorkAlive, false);
});

t("deleted work is gone", async () => {
  const { connectorId } = await register();
  const added = await client.request(WORK_ADD, {
    connectorId,
    friendlyName: "to delete",
  }) as { workAdd: { id: string } };
  const id = added.workAdd.id;

  await client.request(DELETE_WORK, { workId: id });
  const alive = await client.request(IS_WORK_ALIVE, { id }) as {
    isWorkAlive: boolean;
  };
  const read = await client.request(GET_WORK, { id }) as { work: unknown };

  assert.is(alive.isWorkAlive, false);
  assert.is(read.work, null);
  assert.is(standin.works.get(id)?.deleted, true);
});

t("queue details count real messages", async () => {
  const { connectorId } = await register();
  const channel = await amqp.channel();
  await channel.confirmSelect();
  for (let i = 0; i < 3; i++) {
    await channel.basicPublish(
      "amqp.worker.exchange",
      `push_routing_${connectorId}`,
      `message ${i}`,
    );
  }
  standin.setQueueMessagesSize(connectorId, 750_000_000);

  const data = await client.request(GET_CONNECTOR, { id: connectorId }) as {
    connector: { connector_queue_details: Record<string, number> };
  };

  assert.equal(data.connector.connector_queue_details, {
    messages_number: 3,
    messages_size: 750_000_000,
  });
  await channel.close();
});

t("bundle push publishes one message per object", async () => {
  const { connectorId } = await register();
  const added = await client.request(WORK_ADD, {
    connectorId,
    friendlyName: "push",
  }) as { workAdd: { id: string } };
  const workId = added.workAdd.id;
  const bundle = {
    type: "bundle",
    id: "bundle--6f0b1d52-9f44-4c0e-8f5e-0c2b3f7d9a10",
    spec_version: "2.1",
    objects: [
      {
        type: "identity",
        spec_version: "2.1",
        id: "identity--69f1df30-eb2f-5845-88e0-64e2d05ab72e",
        name: "Example Corp",
        identity_class: "organization",
      },
      {
        type: "ipv4-addr",
        spec_version: "2.1",
        id: "ipv4-addr--0198f97b-e65d-5025-87e5-58bc39d4bdb4",
        value: "1.2.3.4",
        x_opencti_created_by_ref:
          "identity--69f1df30-eb2f-5845-88e0-64e2d05ab72e",
      },
    ],
  };

  const data = await client.request(STIX_BUNDLE_PUSH, {
    connectorId,
    bundle: JSON.stringify(bundle),
    work_id: workId,
  });

  assert.equal(data, { stixBundlePush: true });
  assert.is(standin.works.get(workId)?.expected, 2);
  const channel = await amqp.channel();
  await channel.confirmSelect();
  const first = await channel.basicGet(`push_${connectorId}`, {
    noAck: true,
  });
  const second = await channel.basicGet(`push_${connectorId}`, {
    noAck: true,
  });
  const body = JSON.parse(first?.bodyString() ?? "{}");
  const content = JSON.parse(atob(body.content));
  assert.is(body.work_id, workId);
  assert.is(body.applicant_id, standin.user.id);
  assert.is(body.update, true);
  assert.is(content.objects.length, 1);
  assert.is(content.objects[0].type, "identity");
  assert.ok(second);
  await channel.close();
});

t("empty bundle push is rejected", async () => {
  const { connectorId } = await register();

  const error = await rejection(
    client.request(STIX_BUNDLE_PUSH, {
      connectorId,
      bundle: JSON.stringify({ type: "bundle", objects: [] }),
    }),
  ) as GraphqlError;

  assert.is(error.code, "UNSUPPORTED_ERROR");
});

t("wrong token gets AUTH_REQUIRED", async () => {
  const guarded = await createPlatformStandin({ token: "right" });
  const wrong = createGraphqlClient({
    url: guarded.url,
    token: "wrong",
    logger: createMemoryLogger(),
  });

  try {
    const error = await rejection(wrong.request(ABOUT)) as Error;
    assert.is(error.name, "CredentialsRejectedError");
    assert.equal(guarded.calls[0].errorCodes, ["AUTH_REQUIRED"]);
  } finally {
    await guarded.stop();
  }
});

t("injected failure replaces a reply", async () => {
  standin.failNext("healthCheck", { status: 503, body: "booting" });

  const error = await rejection(client.request(ABOUT)) as Error;
  const data = await client.request(ABOUT);

  assert.is(error.name, "PlatformHttpError");
  assert.equal(data, { about: { version: "6.9.17" } });
});

t.run();
