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
  LABEL_ADD,
  LIST_EXTERNAL_REFERENCES,
  LIST_INDICATORS,
  LIST_LABELS,
  LIST_REPORT_INDICATORS,
  LIST_REPORTS,
  ME,
  PING_CONNECTOR,
  REGISTER_CONNECTOR,
  REPORT_EXPECTATION,
  STIX_BUNDLE_PUSH,
  STIX_DOMAIN_OBJECT_ADD_RELATION,
  STIX_DOMAIN_OBJECT_FIELD_PATCH,
  STIX_DOMAIN_OBJECT_REMOVE_RELATION,
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

/** One condition of a `FilterGroup`, which matches `key` against `values`. */
export interface PlatformFilter {
  key: string[];
  values: string[];
  operator?: "eq" | "not_eq";
  mode?: "and" | "or";
}

/** OpenCTI's `FilterGroup` input. */
export interface PlatformFilterGroup {
  mode: "and" | "or";
  filters: PlatformFilter[];
  filterGroups: PlatformFilterGroup[];
}

export interface PlatformExternalReference {
  id: string;
  sourceName: string;
  externalId: string | null;
  url: string | null;
}

export interface PlatformLabel {
  id: string;
  value: string | null;
}

/** The identity in an object's `createdBy`. */
export interface PlatformAuthor {
  id: string;
  standardId: string;
  /** The STIX ids the platform keeps as aliases (`x_opencti_stix_ids`). */
  stixIds: string[];
}

export interface PlatformReport {
  id: string;
  standardId: string;
  stixIds: string[];
  name: string;
  /** ISO 8601 time as the platform returns it, or null. */
  published: string | null;
  createdBy: PlatformAuthor | null;
  labels: PlatformLabel[];
}

export interface PlatformIndicator {
  id: string;
  standardId: string;
  stixIds: string[];
  revoked: boolean;
  createdBy: PlatformAuthor | null;
  labels: PlatformLabel[];
}

/** A report that contains an indicator. */
export interface ContainingReport {
  id: string;
  createdBy: PlatformAuthor | null;
  labels: PlatformLabel[];
}

/** An indicator of a report, with the reports that contain it. */
export interface ContainedIndicator extends PlatformIndicator {
  /** At most `CONTAINING_REPORTS_LIMIT` reports, this one included. */
  reports: ContainingReport[];
  /** True when more reports contain the indicator than `reports` lists. */
  moreReports: boolean;
}

/** Reports listed per indicator by `listReportIndicators`. */
export const CONTAINING_REPORTS_LIMIT = 100;

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

/**
 * Reads and edits of reports, indicators and labels, which the withdrawal
 * handler makes. Filter values are sent 100 per request and every page of
 * a result is read.
 */
export interface KnowledgeApi {
  /**
   * Returns every external reference with this `source_name` and one of
   * the `external_id` values.
   */
  findExternalReferences(
    sourceName: string,
    externalIds: readonly string[],
    signal?: AbortSignal,
  ): Promise<PlatformExternalReference[]>;
  /** Returns every report that cites one of the external references. */
  findReportsByExternalReferences(
    referenceIds: readonly string[],
    signal?: AbortSignal,
  ): Promise<PlatformReport[]>;
  /**
   * Returns the reports that match one of `ids` (internal, standard or
   * STIX alias) and carry the label.
   */
  findLabelledReports(
    ids: readonly string[],
    labelId: string,
    signal?: AbortSignal,
  ): Promise<PlatformReport[]>;
  /**
   * Returns the indicators that match one of `ids` (internal, standard or
   * STIX alias) and carry the label.
   */
  findLabelledIndicators(
    ids: readonly string[],
    labelId: string,
    signal?: AbortSignal,
  ): Promise<PlatformIndicator[]>;
  /**
   * Returns the indicators a report contains, each with the reports that
   * contain it. Returns undefined when no report has this id.
   */
  listReportIndicators(
    reportId: string,
    signal?: AbortSignal,
  ): Promise<ContainedIndicator[] | undefined>;
  /** Returns the label with this value, or undefined when there is none. */
  findLabel(
    value: string,
    signal?: AbortSignal,
  ): Promise<PlatformLabel | undefined>;
  /** Creates a label with this value and color. */
  addLabel(
    value: string,
    color: string,
    signal?: AbortSignal,
  ): Promise<PlatformLabel>;
  /** Adds a label to a domain object such as a report or an indicator. */
  addObjectLabel(
    objectId: string,
    labelId: string,
    signal?: AbortSignal,
  ): Promise<void>;
  /** Removes a label from a domain object. */
  removeObjectLabel(
    objectId: string,
    labelId: string,
    signal?: AbortSignal,
  ): Promise<void>;
  /** Sets `revoked` of a domain object such as an indicator. */
  setRevoked(
    objectId: string,
    revoked: boolean,
    signal?: AbortSignal,
  ): Promise<void>;
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
export function createPlatformApi(
  client: GraphqlClient,
): PlatformApi & KnowledgeApi {
  return {
    ...knowledgeCalls(client),

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

/**
 * Nodes per page of a list query: pycti 6.8 lists labels, external
 * references and indicators 500 at a time.
 */
const PAGE_SIZE = 500;

/** Filter values per request, which keeps each request small. */
const FILTER_VALUES_PER_REQUEST = 100;

/** Indicators per page of `ReportIndicators`, each listing its reports. */
const INDICATORS_PER_PAGE = 100;

const pageInfoSchema = z.object({
  endCursor: z.string(),
  hasNextPage: z.boolean(),
});

const stixIdsSchema = z.array(z.string()).nullish().transform((ids) =>
  ids ?? []
);

const authorSchema = z.object({
  id: z.string(),
  standard_id: z.string(),
  x_opencti_stix_ids: stixIdsSchema,
}).nullish().transform((author) =>
  author
    ? {
      id: author.id,
      standardId: author.standard_id,
      stixIds: author.x_opencti_stix_ids,
    }
    : null
);

const labelSchema = z.object({ id: z.string(), value: z.string().nullable() });

const labelsSchema = z.array(labelSchema).nullish().transform((labels) =>
  labels ?? []
);

const externalReferenceNodeSchema = z.object({
  id: z.string(),
  source_name: z.string(),
  external_id: z.string().nullish(),
  url: z.string().nullish(),
}).transform((node): PlatformExternalReference => ({
  id: node.id,
  sourceName: node.source_name,
  externalId: node.external_id ?? null,
  url: node.url ?? null,
}));

const reportNodeSchema = z.object({
  id: z.string(),
  standard_id: z.string(),
  x_opencti_stix_ids: stixIdsSchema,
  name: z.string(),
  published: z.string().nullish(),
  createdBy: authorSchema,
  objectLabel: labelsSchema,
}).transform((node): PlatformReport => ({
  id: node.id,
  standardId: node.standard_id,
  stixIds: node.x_opencti_stix_ids,
  name: node.name,
  published: node.published ?? null,
  createdBy: node.createdBy,
  labels: node.objectLabel,
}));

const indicatorFields = {
  id: z.string(),
  standard_id: z.string(),
  x_opencti_stix_ids: stixIdsSchema,
  revoked: z.boolean(),
  createdBy: authorSchema,
  objectLabel: labelsSchema,
};

function toIndicator(
  node: z.infer<z.ZodObject<typeof indicatorFields>>,
): PlatformIndicator {
  return {
    id: node.id,
    standardId: node.standard_id,
    stixIds: node.x_opencti_stix_ids,
    revoked: node.revoked,
    createdBy: node.createdBy,
    labels: node.objectLabel,
  };
}

const indicatorNodeSchema = z.object(indicatorFields).transform(toIndicator);

const containedIndicatorSchema = z.object({
  ...indicatorFields,
  reports: z.object({
    edges: z.array(
      z.object({
        node: z.object({
          id: z.string(),
          createdBy: authorSchema,
          objectLabel: labelsSchema,
        }),
      }).nullable(),
    ),
    pageInfo: z.object({ hasNextPage: z.boolean() }),
  }).nullish(),
}).transform((node): ContainedIndicator => ({
  ...toIndicator(node),
  reports: (node.reports?.edges ?? []).flatMap((edge) =>
    edge === null ? [] : [{
      id: edge.node.id,
      createdBy: edge.node.createdBy,
      labels: edge.node.objectLabel,
    }]
  ),
  moreReports: node.reports?.pageInfo.hasNextPage ?? false,
}));

/** Parses a connection into its nodes, null edges left out, and page info. */
function pageSchema<N>(node: z.ZodType<N>): z.ZodType<Page<N>> {
  return z.object({
    edges: z.array(z.object({ node }).nullable()),
    pageInfo: pageInfoSchema,
  }).transform((connection) => ({
    nodes: connection.edges.flatMap((edge) => edge === null ? [] : [edge.node]),
    pageInfo: connection.pageInfo,
  }));
}

/** Builds a filter that matches any of `values` on `key`. */
function anyOf(key: string, values: readonly string[]): PlatformFilter {
  return { key: [key], values: [...values], operator: "eq", mode: "or" };
}

function allOf(...filters: PlatformFilter[]): PlatformFilterGroup {
  return { mode: "and", filters, filterGroups: [] };
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const groups: T[][] = [];
  for (let i = 0; i < items.length; i += size) {
    groups.push(items.slice(i, i + size));
  }
  return groups;
}

interface Page<N> {
  nodes: N[];
  pageInfo: { endCursor: string; hasNextPage: boolean };
}

/**
 * Reads pages until `hasNextPage` is false. A cursor the platform returns
 * twice would repeat pages forever, so it throws `PlatformResponseError`.
 */
async function collectPages<N>(
  operationName: string,
  readPage: (after: string | undefined) => Promise<Page<N>>,
): Promise<N[]> {
  const nodes: N[] = [];
  const cursors = new Set<string>();
  let after: string | undefined;

  while (true) {
    const page = await readPage(after);
    nodes.push(...page.nodes);
    if (!page.pageInfo.hasNextPage) return nodes;

    const cursor = page.pageInfo.endCursor;
    if (cursors.has(cursor)) {
      throw new PlatformResponseError(
        operationName,
        `pageInfo.endCursor ${cursor} was returned twice`,
      );
    }
    cursors.add(cursor);
    after = cursor;
  }
}

function knowledgeCalls(client: GraphqlClient): KnowledgeApi {
  const listAll = async <N>(
    query: string,
    operationName: string,
    field: string,
    node: z.ZodType<N>,
    filters: PlatformFilterGroup,
    signal: AbortSignal | undefined,
  ): Promise<N[]> => {
    const schema = z.object({ [field]: pageSchema(node) });
    return await collectPages(operationName, async (after) => {
      const data = await client.request(query, {
        first: PAGE_SIZE,
        after: after ?? null,
        filters,
      }, { signal });
      return narrow(schema, operationName, data)[field] as Page<N>;
    });
  };

  const listByValues = async <N>(
    values: readonly string[],
    list: (chunk: string[]) => Promise<N[]>,
  ): Promise<N[]> => {
    const found: N[] = [];
    for (const chunk of chunks(values, FILTER_VALUES_PER_REQUEST)) {
      found.push(...await list(chunk));
    }
    return found;
  };

  const editSchema = z.object({
    stixDomainObjectEdit: z.unknown(),
  });
  const edit = async (
    query: string,
    operationName: string,
    variables: Record<string, unknown>,
    signal: AbortSignal | undefined,
  ): Promise<void> => {
    const data = await client.request(query, variables, { signal });
    const { stixDomainObjectEdit } = narrow(editSchema, operationName, data);
    if (stixDomainObjectEdit === null || stixDomainObjectEdit === undefined) {
      throw new PlatformResponseError(
        operationName,
        `object ${String(variables.id)} not found`,
      );
    }
  };

  return {
    findExternalReferences: (
      sourceName: string,
      externalIds: readonly string[],
      signal?: AbortSignal,
    ) =>
      listByValues(externalIds, (chunk) =>
        listAll(
          LIST_EXTERNAL_REFERENCES,
          "ExternalReferences",
          "externalReferences",
          externalReferenceNodeSchema,
          allOf(
            anyOf("source_name", [sourceName]),
            anyOf("external_id", chunk),
          ),
          signal,
        )),

    findReportsByExternalReferences: (
      referenceIds: readonly string[],
      signal?: AbortSignal,
    ) =>
      listByValues(referenceIds, (chunk) =>
        listAll(
          LIST_REPORTS,
          "Reports",
          "reports",
          reportNodeSchema,
          allOf(anyOf("externalReferences", chunk)),
          signal,
        )),

    findLabelledReports: (
      ids: readonly string[],
      labelId: string,
      signal?: AbortSignal,
    ) =>
      listByValues(ids, (chunk) =>
        listAll(
          LIST_REPORTS,
          "Reports",
          "reports",
          reportNodeSchema,
          allOf(anyOf("ids", chunk), anyOf("objectLabel", [labelId])),
          signal,
        )),

    findLabelledIndicators: (
      ids: readonly string[],
      labelId: string,
      signal?: AbortSignal,
    ) =>
      listByValues(ids, (chunk) =>
        listAll(
          LIST_INDICATORS,
          "Indicators",
          "indicators",
          indicatorNodeSchema,
          allOf(anyOf("ids", chunk), anyOf("objectLabel", [labelId])),
          signal,
        )),

    async listReportIndicators(
      reportId: string,
      signal?: AbortSignal,
    ): Promise<ContainedIndicator[] | undefined> {
      const schema = z.object({
        report: z.object({
          id: z.string(),
          objects: pageSchema(containedIndicatorSchema),
        }).nullable(),
      });
      let missing = false;
      const indicators = await collectPages(
        "ReportIndicators",
        async (after) => {
          const data = await client.request(LIST_REPORT_INDICATORS, {
            id: reportId,
            first: INDICATORS_PER_PAGE,
            after: after ?? null,
            reportsFirst: CONTAINING_REPORTS_LIMIT,
          }, { signal });
          const { report } = narrow(schema, "ReportIndicators", data);
          if (report === null) {
            missing = true;
            return {
              nodes: [],
              pageInfo: { endCursor: "", hasNextPage: false },
            };
          }
          return report.objects;
        },
      );
      return missing ? undefined : indicators;
    },

    async findLabel(
      value: string,
      signal?: AbortSignal,
    ): Promise<PlatformLabel | undefined> {
      const data = await client.request(LIST_LABELS, {
        first: 1,
        after: null,
        filters: allOf(anyOf("value", [value])),
      }, { signal });
      const schema = z.object({
        labels: z.object({ edges: z.array(z.object({ node: labelSchema })) }),
      });
      return narrow(schema, "Labels", data).labels.edges[0]?.node;
    },

    async addLabel(
      value: string,
      color: string,
      signal?: AbortSignal,
    ): Promise<PlatformLabel> {
      const data = await client.request(LABEL_ADD, {
        input: { value, color },
      }, { signal });
      const schema = z.object({ labelAdd: labelSchema.nullable() });
      const label = narrow(schema, "LabelAdd", data).labelAdd;
      if (label === null) {
        throw new PlatformResponseError(
          "LabelAdd",
          `labelAdd returned null for label ${value}`,
        );
      }
      return label;
    },

    addObjectLabel: (objectId: string, labelId: string, signal?: AbortSignal) =>
      edit(STIX_DOMAIN_OBJECT_ADD_RELATION, "StixDomainObjectAddRelation", {
        id: objectId,
        input: { toId: labelId, relationship_type: "object-label" },
      }, signal),

    removeObjectLabel: (
      objectId: string,
      labelId: string,
      signal?: AbortSignal,
    ) =>
      edit(
        STIX_DOMAIN_OBJECT_REMOVE_RELATION,
        "StixDomainObjectRemoveRelation",
        { id: objectId, toId: labelId, relationship_type: "object-label" },
        signal,
      ),

    setRevoked: (objectId: string, revoked: boolean, signal?: AbortSignal) =>
      edit(STIX_DOMAIN_OBJECT_FIELD_PATCH, "StixDomainObjectEdit", {
        id: objectId,
        input: [{ key: "revoked", value: [revoked] }],
      }, signal),
  };
}
