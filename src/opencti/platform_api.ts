/**
 * Typed calls of the OpenCTI operations in `operations.ts`. Each narrows the
 * response data with zod and throws `PlatformResponseError` when it does not
 * have the requested shape.
 */
import { z } from "zod";
import { PlatformResponseError } from "./errors.ts";
import type { GraphqlClient } from "./graphql_client.ts";
import {
  ABOUT,
  ADD_EXPECTATIONS,
  DELETE_WORK,
  GET_CONNECTOR,
  IS_WORK_ALIVE,
  ME,
  PING_CONNECTOR,
  REGISTER_CONNECTOR,
  REPORT_EXPECTATION,
  STIX_BUNDLE_PUSH,
  WORK_ADD,
  WORK_TO_PROCESSED,
} from "./operations.ts";

/** `RegisterConnectorInput` as this connector fills it. */
export interface RegisterConnectorInput {
  id: string;
  name: string;
  type: string;
  scope: string[];
  auto: boolean;
  only_contextual: boolean;
  playbook_compatible: boolean;
}

/** `ConnectorInfoInput`: what each ping reports about scheduling. */
export interface ConnectorInfo {
  run_and_terminate: boolean;
  buffering: boolean;
  /** Megabytes (10^6 bytes). */
  queue_threshold: number;
  /** Megabytes (10^6 bytes) in the push queue. */
  queue_messages_size: number;
  /** UTC, `YYYY-MM-DDTHH:MM:SSZ`, or null before the first schedule. */
  next_run_datetime: string | null;
  last_run_datetime: string | null;
}

const connectionSchema = z.object({
  host: z.string(),
  vhost: z.string(),
  use_ssl: z.boolean(),
  port: z.number().int(),
  user: z.string(),
  pass: z.string(),
});

const registrationSchema = z.object({
  registerConnector: z.object({
    id: z.string(),
    connector_state: z.string().nullable(),
    connector_user_id: z.string().nullable(),
    config: z.object({
      connection: connectionSchema,
      listen: z.string(),
      listen_routing: z.string(),
      listen_exchange: z.string(),
      push: z.string(),
      push_routing: z.string(),
      push_exchange: z.string(),
    }),
  }),
});

/** The parts of the registration response the connector keeps. */
export interface Registration {
  id: string;
  /** The saved state string: null, `""`, `"null"` or a JSON object. */
  connectorState: string | null;
  /** The user that owns the token: every queue message's `applicant_id`. */
  connectorUserId: string;
  /** The platform's own RabbitMQ settings, before `MQ_*` overrides. */
  connection: z.infer<typeof connectionSchema>;
  pushQueue: string;
  pushExchange: string;
  pushRoutingKey: string;
}

const pingSchema = z.object({
  pingConnector: z.object({
    id: z.string(),
    connector_state: z.string().nullable(),
  }).nullable(),
});

const connectorSchema = z.object({
  connector: z.object({
    id: z.string(),
    connector_queue_details: z.object({
      messages_number: z.number(),
      messages_size: z.number(),
    }),
  }).nullable(),
});

/** The push queue as the platform reads it from RabbitMQ. */
export interface QueueDetails {
  messagesNumber: number;
  /** Bytes; 0 when the platform cannot reach RabbitMQ's management API. */
  messagesSize: number;
}

const meSchema = z.object({
  me: z.object({
    id: z.string(),
    name: z.string(),
    user_email: z.string(),
    capabilities: z.array(z.object({ name: z.string() })),
  }),
});

export interface PlatformUser {
  id: string;
  name: string;
  email: string;
  capabilities: string[];
}

/** Every OpenCTI call the connector makes, with typed results. */
export interface PlatformApi {
  /** Returns `about.version`. */
  fetchVersion(signal?: AbortSignal): Promise<string>;
  /** Returns the user that owns the token; a rejected token throws. */
  fetchUser(signal?: AbortSignal): Promise<PlatformUser>;
  registerConnector(
    input: RegisterConnectorInput,
    signal?: AbortSignal,
  ): Promise<Registration>;
  /** Pings and returns the state string the platform now holds. */
  pingConnector(
    connectorId: string,
    state: string,
    info: ConnectorInfo,
    signal?: AbortSignal,
  ): Promise<string | null>;
  /** Returns the push queue size, or undefined for an unknown connector. */
  fetchQueueDetails(
    connectorId: string,
    signal?: AbortSignal,
  ): Promise<QueueDetails | undefined>;
  /** Opens a work and returns its id. */
  addWork(connectorId: string, friendlyName: string): Promise<string>;
  addExpectations(workId: string, expectations: number): Promise<void>;
  markWorkProcessed(
    workId: string,
    message: string,
    inError: boolean,
  ): Promise<void>;
  deleteWork(workId: string): Promise<void>;
  isWorkAlive(workId: string): Promise<boolean>;
  /** Counts one imported message; only workers send this. */
  reportExpectation(
    workId: string,
    error?: { error: string; source: string },
  ): Promise<void>;
  /** Sends a whole bundle over HTTP; returns the platform's Boolean. */
  pushBundle(
    connectorId: string,
    bundle: string,
    workId?: string,
    signal?: AbortSignal,
  ): Promise<boolean>;
}

function narrow<T>(
  schema: z.ZodType<T>,
  operationName: string,
  data: unknown,
): T {
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;

  const issue = parsed.error.issues[0];
  const where = issue.path.length > 0 ? issue.path.join(".") : "data";
  throw new PlatformResponseError(operationName, `${where}: ${issue.message}`);
}

/** Creates the typed API over a GraphQL client. */
export function createPlatformApi(client: GraphqlClient): PlatformApi {
  return {
    async fetchVersion(signal) {
      const data = await client.request(ABOUT, {}, { signal });
      const schema = z.object({ about: z.object({ version: z.string() }) });
      return narrow(schema, "healthCheck", data).about.version;
    },

    async fetchUser(signal) {
      const data = await client.request(ME, {}, {
        signal,
        forbiddenMeansRejected: true,
      });
      const { me } = narrow(meSchema, "Me", data);
      return {
        id: me.id,
        name: me.name,
        email: me.user_email,
        capabilities: me.capabilities.map((capability) => capability.name),
      };
    },

    async registerConnector(input, signal) {
      const data = await client.request(REGISTER_CONNECTOR, { input }, {
        signal,
        forbiddenMeansRejected: true,
      });
      const registered =
        narrow(registrationSchema, "RegisterConnector", data).registerConnector;
      if (registered.connector_user_id === null) {
        throw new PlatformResponseError(
          "RegisterConnector",
          "connector_user_id is null, so messages would have no applicant",
        );
      }
      return {
        id: registered.id,
        connectorState: registered.connector_state,
        connectorUserId: registered.connector_user_id,
        connection: registered.config.connection,
        pushQueue: registered.config.push,
        pushExchange: registered.config.push_exchange,
        pushRoutingKey: registered.config.push_routing,
      };
    },

    async pingConnector(connectorId, state, info, signal) {
      const data = await client.request(PING_CONNECTOR, {
        id: connectorId,
        state,
        connectorInfo: info,
      }, { signal });
      const { pingConnector } = narrow(pingSchema, "PingConnector", data);
      if (pingConnector === null) {
        throw new PlatformResponseError(
          "PingConnector",
          `connector ${connectorId} not found`,
        );
      }
      return pingConnector.connector_state;
    },

    async fetchQueueDetails(connectorId, signal) {
      const data = await client.request(GET_CONNECTOR, { id: connectorId }, {
        signal,
      });
      const { connector } = narrow(connectorSchema, "GetConnector", data);
      if (connector === null) return undefined;
      return {
        messagesNumber: connector.connector_queue_details.messages_number,
        messagesSize: connector.connector_queue_details.messages_size,
      };
    },

    async addWork(connectorId, friendlyName) {
      const data = await client.request(WORK_ADD, {
        connectorId,
        friendlyName,
      });
      const schema = z.object({ workAdd: z.object({ id: z.string() }) });
      return narrow(schema, "workAdd", data).workAdd.id;
    },

    async addExpectations(workId, expectations) {
      await client.request(ADD_EXPECTATIONS, { id: workId, expectations });
    },

    async markWorkProcessed(workId, message, inError) {
      await client.request(WORK_TO_PROCESSED, {
        id: workId,
        message,
        inError,
      });
    },

    async deleteWork(workId) {
      await client.request(DELETE_WORK, { workId });
    },

    async isWorkAlive(workId) {
      const data = await client.request(IS_WORK_ALIVE, { id: workId });
      const schema = z.object({ isWorkAlive: z.boolean().nullable() });
      return narrow(schema, "WorkAliveQuery", data).isWorkAlive === true;
    },

    async reportExpectation(workId, error) {
      await client.request(REPORT_EXPECTATION, {
        id: workId,
        error: error ?? null,
      });
    },

    async pushBundle(connectorId, bundle, workId, signal) {
      const variables: Record<string, unknown> = { connectorId, bundle };
      if (workId !== undefined) variables.work_id = workId;
      const data = await client.request(STIX_BUNDLE_PUSH, variables, {
        signal,
      });
      const schema = z.object({ stixBundlePush: z.boolean().nullable() });
      return narrow(schema, "StixBundlePush", data).stixBundlePush === true;
    },
  };
}
