/**
 * An OpenCTI platform stand-in for tests: a Hono GraphQL endpoint on
 * 127.0.0.1 that implements the operations a connector and a worker send,
 * declares the connector's queues on the real RabbitMQ as OpenCTI does, and
 * records every call.
 *
 * When OpenCTI's schema is present (`../shared/schema/opencti-6.9.17.graphql`
 * beside the repository), every request is validated against it, and an
 * invalid one gets Apollo Server's reply: HTTP 400 with an `errors` array.
 * Without that file the stand-in replies without validating, and
 * `validating` is false.
 *
 * `stixBundlePush` splits the bundle with the connector's own splitter (no
 * cleanup, as OpenCTI's worker splits) and publishes one message per object
 * to the push queue, adding the expectations to the work. On the real
 * platform the worker does that split; the messages and counts come out the
 * same.
 *
 * `knowledge` stores reports, indicators and labels and answers the
 * queries and edits of them (`platform_knowledge.ts`); tests seed it with
 * `knowledge.importObjects`, as the worker would import the objects.
 */
import { Hono } from "hono";
import {
  type ConnectorQueues,
  connectorQueues,
  StandinBroker,
} from "./platform_broker.ts";
import {
  execute,
  type FieldArguments,
  type GraphqlRequest,
  loadSchema,
  parseRequest,
  PlatformFailure,
  type RootResolvers,
} from "./platform_graphql.ts";
import {
  addExpectations,
  applyPing,
  type BrokerConnection,
  isActive,
  newWork,
  reportExpectation,
  type StandinConnector,
  type StandinUser,
  type StandinWork,
  toProcessed,
  workView,
} from "./platform_model.ts";
import { KnowledgeStore } from "./platform_knowledge.ts";
import { splitBundle } from "../../src/opencti/splitter.ts";

export type { BrokerConnection, StandinConnector, StandinUser, StandinWork };
export { PlatformFailure };

/** The schema file, found beside the repository. */
export const DEFAULT_SCHEMA_PATH = new URL(
  "../../../shared/schema/opencti-6.9.17.graphql",
  import.meta.url,
).pathname;

/** Returns whether the schema file exists, so validation tests can run. */
export function schemaAvailable(path = DEFAULT_SCHEMA_PATH): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

export const DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672";

export interface PlatformStandinOptions {
  /** The broker the stand-in declares queues on and publishes to. */
  amqpUrl?: string;
  /** The schema to validate against; `null` turns validation off. */
  schemaPath?: string | null;
  /** The connection `registerConnector` returns (default: 127.0.0.1:5672). */
  connection?: Partial<BrokerConnection>;
  /** `about.version`; default 6.9.17. */
  version?: string;
  /** The only bearer token accepted; default: any non-empty token. */
  token?: string;
  /** OpenCTI's `rabbitmq.queue_prefix`; default none. */
  queuePrefix?: string;
  user?: Partial<StandinUser>;
  /** Current time; default the system clock. */
  now?: () => Date;
  /** Serve HTTPS with this certificate and key (PEM) instead of HTTP. */
  tls?: { cert: string; key: string };
}

/** One request as the stand-in received it. */
export interface RecordedCall {
  operationName: string;
  query: string;
  variables: Record<string, unknown>;
  /** Request headers, with lower-case names. */
  headers: Record<string, string>;
  /** The HTTP status of the reply. */
  status: number;
  /** The codes of the errors in the reply, in order. */
  errorCodes: string[];
}

/** A reply that replaces the next calls of one operation. */
export type InjectedFailure =
  | { status: number; body?: string }
  | { code: string; message: string };

/** A request paused before it is resolved, until `release()`. */
export interface PausedRequest {
  /** Resolves with the variables when the request arrives. */
  reached: Promise<Record<string, unknown>>;
  release(): void;
}

export interface PlatformStandin {
  app: Hono;
  /** The platform URL, without `/graphql`: the value of `OPENCTI_URL`. */
  url: string;
  /** Whether requests are validated against the schema. */
  validating: boolean;
  calls: RecordedCall[];
  connectors: Map<string, StandinConnector>;
  works: Map<string, StandinWork>;
  user: StandinUser;
  /** Reports, indicators and labels; tests seed it with `importObjects`. */
  knowledge: KnowledgeStore;
  /** Returns the recorded calls of one operation. */
  callsOf(operationName: string): RecordedCall[];
  /**
   * Resets a connector's state as the UI does: the state becomes `""`, the
   * push and listen queues are purged, and the next ping drops the state
   * it carries and returns `""`.
   */
  resetState(connectorId: string): Promise<void>;
  /** Sets the push queue size in bytes that `connector_queue_details` reports. */
  setQueueMessagesSize(connectorId: string, bytes: number): void;
  /** Replies to the next `times` calls of an operation with a failure. */
  failNext(
    operationName: string,
    failure: InjectedFailure,
    times?: number,
  ): void;
  /** Pauses the next call of an operation before it is resolved. */
  pause(operationName: string): PausedRequest;
  /**
   * Stops the HTTP server and closes the broker connection, deleting the
   * queues this stand-in declared unless `keepQueues` is set.
   */
  stop(options?: { keepQueues?: boolean }): Promise<void>;
}

interface Faults {
  failures: Map<string, Array<InjectedFailure>>;
  pauses: Map<
    string,
    Array<{ arrive: (v: Record<string, unknown>) => void; gate: Promise<void> }>
  >;
}

/** Starts a stand-in on 127.0.0.1 at a free port. */
export function createPlatformStandin(
  options: PlatformStandinOptions = {},
): Promise<PlatformStandin> {
  const schemaPath = options.schemaPath === undefined
    ? DEFAULT_SCHEMA_PATH
    : options.schemaPath;
  const schema = schemaPath === null ? undefined : loadSchema(schemaPath);
  const now = options.now ?? (() => new Date());
  const broker = new StandinBroker(options.amqpUrl ?? DEFAULT_AMQP_URL);
  const user: StandinUser = {
    id: crypto.randomUUID(),
    name: "[C] Cofense ThreatHQ",
    user_email: "connector@standin.invalid",
    capabilities: ["CONNECTORAPI", "MODULES_MODMANAGE", "KNOWLEDGE"],
    ...options.user,
  };
  const connection: BrokerConnection = {
    host: "127.0.0.1",
    vhost: "/",
    use_ssl: false,
    port: 5672,
    user: "guest",
    pass: "guest",
    ...options.connection,
  };

  const calls: RecordedCall[] = [];
  const connectors = new Map<string, StandinConnector>();
  const works = new Map<string, StandinWork>();
  const faults: Faults = { failures: new Map(), pauses: new Map() };
  const knowledge = new KnowledgeStore();
  const state: PlatformState = {
    connectors,
    works,
    knowledge,
    broker,
    user,
    connection,
    now,
    queuePrefix: options.queuePrefix ?? "",
    version: options.version ?? "6.9.17",
  };

  const app = new Hono();
  app.post("/graphql", async (context) => {
    const headers = Object.fromEntries(context.req.raw.headers.entries());
    const request = await readBody(context.req.raw);
    const authorized = isAuthorized(headers.authorization, options.token);
    const reply = await answer(request, {
      schema,
      resolvers: createResolvers(state, authorized),
      faults,
      record: (call) => calls.push({ ...call, headers }),
    });
    return new Response(reply.text, {
      status: reply.status,
      headers: { "Content-Type": "application/json" },
    });
  });

  return new Promise((resolve) => {
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      ...(options.tls ?? {}),
      onListen: ({ port }) => {
        resolve({
          app,
          url: `${options.tls ? "https" : "http"}://127.0.0.1:${port}`,
          validating: schema !== undefined,
          calls,
          connectors,
          works,
          user,
          knowledge,
          callsOf: (name) =>
            calls.filter((call) => call.operationName === name),
          resetState: (connectorId) => resetState(state, connectorId),
          setQueueMessagesSize: (connectorId, bytes) => {
            requireConnector(state, connectorId).queue_messages_size = bytes;
          },
          failNext: (name, failure, times = 1) => {
            const queue = faults.failures.get(name) ?? [];
            for (let i = 0; i < times; i++) queue.push(failure);
            faults.failures.set(name, queue);
          },
          pause: (name) => pauseNext(faults, name),
          stop: async (stopOptions = {}) => {
            await server.shutdown();
            await broker.close(!stopOptions.keepQueues);
          },
        });
      },
    }, app.fetch);
  });
}

interface PlatformState {
  connectors: Map<string, StandinConnector>;
  works: Map<string, StandinWork>;
  knowledge: KnowledgeStore;
  broker: StandinBroker;
  user: StandinUser;
  connection: BrokerConnection;
  now: () => Date;
  queuePrefix: string;
  version: string;
}

async function readBody(request: Request): Promise<GraphqlRequest> {
  try {
    const body = await request.json();
    return typeof body === "object" && body !== null ? body : {};
  } catch {
    return {};
  }
}

function isAuthorized(
  header: string | undefined,
  token: string | undefined,
): boolean {
  const match = /^Bearer (.+)$/.exec(header ?? "");
  if (match === null) return false;
  return token === undefined || match[1] === token;
}

function pauseNext(faults: Faults, name: string): PausedRequest {
  let arrive!: (variables: Record<string, unknown>) => void;
  let release!: () => void;
  const reached = new Promise<Record<string, unknown>>((resolve) => {
    arrive = resolve;
  });
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const queue = faults.pauses.get(name) ?? [];
  queue.push({ arrive, gate });
  faults.pauses.set(name, queue);
  return { reached, release };
}

interface AnswerInput {
  schema: ReturnType<typeof loadSchema>;
  resolvers: RootResolvers;
  faults: Faults;
  record: (call: Omit<RecordedCall, "headers">) => void;
}

async function answer(
  request: GraphqlRequest,
  input: AnswerInput,
): Promise<{ status: number; text: string }> {
  const parsed = parseRequest(request, input.schema);
  const query = typeof request.query === "string" ? request.query : "";
  const requestName = typeof request.operationName === "string"
    ? request.operationName
    : "anonymous";

  if ("status" in parsed) {
    return recorded(input, { query, name: requestName, variables: {} }, parsed);
  }
  const call = {
    query,
    name: parsed.operationName,
    variables: parsed.variables,
  };

  const paused = input.faults.pauses.get(call.name)?.shift();
  if (paused !== undefined) {
    paused.arrive(call.variables);
    await paused.gate;
  }

  const failure = input.faults.failures.get(call.name)?.shift();
  if (failure !== undefined && "status" in failure) {
    const body = failure.body ?? "";
    input.record({
      operationName: call.name,
      query,
      variables: call.variables,
      status: failure.status,
      errorCodes: [],
    });
    return { status: failure.status, text: body };
  }
  if (failure !== undefined) {
    return recorded(input, call, {
      status: 200,
      body: {
        data: null,
        errors: [{
          message: failure.message,
          name: failure.code,
          extensions: { code: failure.code },
        }],
      },
    });
  }

  return recorded(input, call, await execute(parsed, input.resolvers));
}

function recorded(
  input: AnswerInput,
  call: { query: string; name: string; variables: Record<string, unknown> },
  reply: { status: number; body: Record<string, unknown> },
): { status: number; text: string } {
  const errors = Array.isArray(reply.body.errors) ? reply.body.errors : [];
  input.record({
    operationName: call.name,
    query: call.query,
    variables: call.variables,
    status: reply.status,
    errorCodes: errors.map((error) =>
      String(error?.name ?? error?.extensions?.code ?? "")
    ),
  });
  return { status: reply.status, text: JSON.stringify(reply.body) };
}

function requireConnector(
  state: PlatformState,
  connectorId: unknown,
): StandinConnector {
  const connector = state.connectors.get(String(connectorId));
  if (connector !== undefined) return connector;
  throw new PlatformFailure(
    "FUNCTIONAL_ERROR",
    `Connector ${String(connectorId)} not found`,
  );
}

function requireWork(state: PlatformState, workId: unknown): StandinWork {
  const work = state.works.get(String(workId));
  if (work !== undefined && !work.deleted) return work;
  throw new PlatformFailure(
    "FUNCTIONAL_ERROR",
    `Work ${String(workId)} not found`,
  );
}

function requireCapability(state: PlatformState, capability: string): void {
  if (state.user.capabilities.includes(capability)) return;
  throw new PlatformFailure(
    "FORBIDDEN_ACCESS",
    "You are not allowed to do this.",
  );
}

async function resetState(
  state: PlatformState,
  connectorId: string,
): Promise<void> {
  const connector = requireConnector(state, connectorId);
  connector.connector_state = "";
  connector.connector_state_reset = true;
  await state.broker.purge(connector.queues.push);
  await state.broker.purge(connector.queues.listen);
}

function connectorView(
  state: PlatformState,
  connector: StandinConnector,
): Record<string, unknown> {
  return {
    id: connector.id,
    standard_id: `connector--${connector.id}`,
    entity_type: "Connector",
    name: connector.name,
    title: connector.name,
    active: isActive(connector, state.now()),
    auto: connector.auto,
    auto_update: connector.auto_update,
    only_contextual: connector.only_contextual,
    playbook_compatible: connector.playbook_compatible,
    enrichment_resolution: connector.enrichment_resolution,
    connector_type: connector.type,
    connector_scope: connector.scope,
    connector_state: connector.connector_state,
    connector_state_reset: connector.connector_state_reset,
    connector_user_id: connector.connector_user_id,
    connector_info: connector.connector_info,
    created_at: connector.created_at,
    updated_at: connector.updated_at,
    built_in: false,
    config: configView(state, connector.queues),
    // NOTE: messages_size is the value given to setQueueMessagesSize (0 by
    // default), not the queue's bytes: this needs no management plugin.
    connector_queue_details: async () => ({
      messages_number: await state.broker.messageCount(connector.queues.push),
      messages_size: connector.queue_messages_size,
    }),
  };
}

function configView(
  state: PlatformState,
  queues: ConnectorQueues,
): Record<string, unknown> {
  return {
    connection: state.connection,
    ...queues,
    listen_callback_uri: null,
  };
}

function createResolvers(
  state: PlatformState,
  authorized: boolean,
): RootResolvers {
  const resolvers = {
    ...platformResolvers(state),
    ...state.knowledge.resolvers(),
  };
  if (authorized) return resolvers;

  const rejected = () => {
    throw new PlatformFailure(
      "AUTH_REQUIRED",
      "You must be logged in to do this.",
    );
  };
  return Object.fromEntries(
    Object.keys(resolvers).map((name) => [name, rejected]),
  );
}

function platformResolvers(state: PlatformState): RootResolvers {
  return {
    about: () => ({ version: state.version }),
    me: () => ({
      ...state.user,
      capabilities: state.user.capabilities.map((name) => ({ name })),
    }),
    registerConnector: (args) => registerConnector(state, args),
    pingConnector: (args) => pingConnector(state, args),
    connector: (args) => {
      const connector = state.connectors.get(String(args.id));
      return connector === undefined ? null : connectorView(state, connector);
    },
    workAdd: (args) => workAdd(state, args),
    workEdit: (args) => workEdit(state, args),
    work: (args) => {
      const work = state.works.get(String(args.id));
      return work === undefined || work.deleted ? null : workView(work);
    },
    isWorkAlive: (args) => {
      const work = state.works.get(String(args.id));
      return work !== undefined && work.alive && !work.deleted;
    },
    stixBundlePush: (args) => stixBundlePush(state, args),
  };
}

async function registerConnector(
  state: PlatformState,
  args: FieldArguments,
): Promise<Record<string, unknown>> {
  requireCapability(state, "CONNECTORAPI");
  const input = (args.input ?? {}) as Record<string, unknown>;
  const id = String(input.id);
  const name = String(input.name ?? "");
  if (name.trim().length < 2) {
    throw new PlatformFailure(
      "FUNCTIONAL_ERROR",
      "name must be at least 2 characters and not blank",
    );
  }

  const queues = connectorQueues(id, state.queuePrefix);
  await state.broker.declareConnectorQueues(queues);

  const timestamp = state.now().toISOString();
  const existing = state.connectors.get(id);
  const connector: StandinConnector = {
    id,
    name,
    type: String(input.type),
    scope: Array.isArray(input.scope) ? input.scope.map(String) : [],
    auto: input.auto === true,
    auto_update: input.auto_update === true,
    enrichment_resolution: typeof input.enrichment_resolution === "string"
      ? input.enrichment_resolution
      : null,
    only_contextual: input.only_contextual === true,
    playbook_compatible: input.playbook_compatible === true,
    connector_state: existing?.connector_state ?? null,
    connector_state_reset: existing?.connector_state_reset ?? false,
    connector_user_id: state.user.id,
    connector_info: existing?.connector_info ?? null,
    created_at: existing?.created_at ?? timestamp,
    updated_at: timestamp,
    queues,
    queue_messages_size: existing?.queue_messages_size ?? 0,
    registrations: (existing?.registrations ?? 0) + 1,
    pings: existing?.pings ?? 0,
  };
  state.connectors.set(id, connector);
  return connectorView(state, connector);
}

async function pingConnector(
  state: PlatformState,
  args: FieldArguments,
): Promise<Record<string, unknown>> {
  const connector = requireConnector(state, args.id);
  await state.broker.declareConnectorQueues(connector.queues);

  const sent = typeof args.state === "string" ? args.state : null;
  const info = typeof args.connectorInfo === "object"
    ? args.connectorInfo as Record<string, unknown> | null
    : null;
  applyPing(connector, sent, info, state.now());
  return connectorView(state, connector);
}

function workAdd(
  state: PlatformState,
  args: FieldArguments,
): Record<string, unknown> {
  const connector = requireConnector(state, args.connectorId);
  const friendlyName = typeof args.friendlyName === "string"
    ? args.friendlyName
    : `${connector.name} run @ ${state.now().toISOString()}`;
  const work = createWork(state, connector, friendlyName);
  return workView(work);
}

function createWork(
  state: PlatformState,
  connector: StandinConnector,
  name: string,
): StandinWork {
  // OpenCTI names a work after its connector and creation time in
  // milliseconds; a later millisecond keeps two quick works apart.
  let time = state.now().getTime();
  let id = `work_${connector.id}_${new Date(time).toISOString()}`;
  while (state.works.has(id)) {
    time += 1;
    id = `work_${connector.id}_${new Date(time).toISOString()}`;
  }
  const work = newWork(id, connector.id, name, state.now());
  state.works.set(id, work);
  return work;
}

function workEdit(
  state: PlatformState,
  args: FieldArguments,
): Record<string, unknown> {
  const id = String(args.id);
  return {
    addExpectations: (fieldArgs: FieldArguments) => {
      const work = requireWork(state, id);
      addExpectations(work, Number(fieldArgs.expectations ?? 0));
      return id;
    },
    reportExpectation: (fieldArgs: FieldArguments) => {
      const work = requireWork(state, id);
      const error = fieldArgs.error as Record<string, unknown> | null;
      reportExpectation(work, error ?? null, state.now());
      return id;
    },
    toProcessed: (fieldArgs: FieldArguments) => {
      const work = requireWork(state, id);
      const message = typeof fieldArgs.message === "string"
        ? fieldArgs.message
        : null;
      toProcessed(work, message, fieldArgs.inError === true, state.now());
      return id;
    },
    delete: () => {
      const work = requireWork(state, id);
      work.deleted = true;
      work.alive = false;
      return id;
    },
    ping: () => {
      requireWork(state, id);
      return id;
    },
  };
}

async function stixBundlePush(
  state: PlatformState,
  args: FieldArguments,
): Promise<boolean> {
  requireCapability(state, "CONNECTORAPI");
  const bundle = parseBundle(args.bundle);
  const connector = requireConnector(state, args.connectorId);

  const workId = typeof args.work_id === "string" ? args.work_id : createWork(
    state,
    connector,
    `${connector.name} run @ ${state.now().toISOString()}`,
  ).id;

  const split = splitBundle(bundle, { cleanupInconsistentBundle: false });
  const work = state.works.get(workId);
  if (work !== undefined && !work.deleted) {
    addExpectations(work, split.expectations);
  }

  for (const part of split.bundles) {
    const message = {
      type: "bundle",
      applicant_id: state.user.id,
      content: encodeBase64(JSON.stringify(part)),
      work_id: workId,
      update: true,
    };
    await state.broker.publish(
      connector.queues.push_exchange,
      connector.queues.push_routing,
      JSON.stringify(message),
    );
  }
  return true;
}

/** Encodes a text's UTF-8 bytes as standard base64 with padding. */
function encodeBase64(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) {
    binary += String.fromCharCode(byte);
  }
  return btoa(binary);
}

function parseBundle(text: unknown): Record<string, unknown> {
  let bundle: unknown;
  try {
    bundle = JSON.parse(String(text));
  } catch {
    bundle = undefined;
  }

  const valid = typeof bundle === "object" && bundle !== null &&
    (bundle as Record<string, unknown>).type === "bundle" &&
    Array.isArray((bundle as Record<string, unknown>).objects) &&
    ((bundle as Record<string, unknown>).objects as unknown[]).length > 0;
  if (!valid) throw new PlatformFailure("UNSUPPORTED_ERROR", "Invalid bundle");
  return bundle as Record<string, unknown>;
}
