/**
 * A stand-in for OpenCTI's worker. It consumes a push queue on the real
 * broker, checks every message the way the connector must write it, and
 * stores each object. Like the worker's push handler (6.9), it reports one
 * expectation per message that carries a work id.
 *
 * It also accepts the messages the platform publishes for `stixBundlePush`
 * (`type`, `applicant_id`, `content`, `work_id`, `update`), without the
 * property checks that apply to the connector's own messages.
 *
 * Unlike the real worker, it does not split a bundle of several objects
 * again. Such a message counts as an error, because the connector always
 * sends one object per message.
 */
import {
  type AMQPChannel,
  AMQPClient,
  type AMQPMessage,
} from "@cloudamqp/amqp-client";
import { z } from "zod";
import {
  decodeContent,
  type QueueMessage,
  queueMessageSchema,
} from "../../src/opencti/message.ts";
import { stixObjectSchema } from "../../src/stix/types.ts";

/** The error the worker reports for an object it could not import. */
export interface ExpectationError {
  error: string;
  source: string;
}

export type ReportExpectation = (
  workId: string,
  error: ExpectationError | null,
) => Promise<void>;

export interface WorkerStandinOptions {
  amqpUrl: string;
  queue: string;
  reportExpectation: ReportExpectation;
  /** Throws for an invalid object. Default: the connector's STIX schemas. */
  validate?: (object: unknown) => void;
  /**
   * Returns whether the work still exists. Messages of a deleted work are
   * acknowledged and dropped without a report, as the worker does.
   */
  isWorkAlive?: (workId: string) => Promise<boolean>;
}

/** The message OpenCTI 6.9 publishes for a `stixBundlePush`. */
const platformMessageSchema = z.strictObject({
  type: z.literal("bundle"),
  applicant_id: z.string().nullable(),
  content: z.base64(),
  work_id: z.string().optional(),
  update: z.boolean(),
});
export type PlatformMessage = z.infer<typeof platformMessageSchema>;

/** Who wrote a message, with the message in that writer's format. */
export type MessageOrigin =
  | { origin: "connector"; message: QueueMessage }
  | { origin: "platform"; message: PlatformMessage };

/** One delivery, decoded. */
export type ReceivedMessage = MessageOrigin & DeliveryDetails;

interface DeliveryDetails {
  /** The one-object bundle from `content`. */
  bundle: Record<string, unknown>;
  deliveryMode: number | undefined;
  contentEncoding: string | undefined;
  contentType: string | undefined;
  headers: Record<string, unknown> | undefined;
}

/** Returns the connector messages among the deliveries, in order. */
export function connectorMessages(
  received: readonly ReceivedMessage[],
): QueueMessage[] {
  return received.flatMap((entry) =>
    entry.origin === "connector" ? [entry.message] : []
  );
}

export interface WorkerStandin {
  /** Every message, in delivery order, duplicates included. */
  readonly received: ReceivedMessage[];
  /** The last version of each imported object, by id. */
  readonly objects: Map<string, Record<string, unknown>>;
  /** Why each rejected message was rejected, in delivery order. */
  readonly errors: string[];
  /** Messages dropped because their work no longer exists. */
  readonly dropped: ReceivedMessage[];
  /**
   * Resolves once `predicate` holds, checked after each delivery. Rejects
   * after `timeoutMs` with the counts seen so far.
   */
  waitFor(
    predicate: (standin: WorkerStandin) => boolean,
    timeoutMs?: number,
  ): Promise<void>;
  /** Cancels the consumer and closes the connection. */
  stop(): Promise<void>;
}

const DEFAULT_WAIT_MS = 20_000;

const subBundleSchema = z.strictObject({
  type: z.literal("bundle"),
  id: z.string().regex(/^bundle--[0-9a-f-]{36}$/),
  spec_version: z.literal("2.1"),
  x_opencti_seq: z.number().int().min(0),
  x_opencti_event_version: z.string().optional(),
  objects: z.array(z.looseObject({ id: z.string(), type: z.string() })),
});

function validateStix(object: unknown): void {
  stixObjectSchema.parse(object);
}

/** Starts consuming `queue`; resolves once the consumer is registered. */
export async function createWorkerStandin(
  options: WorkerStandinOptions,
): Promise<WorkerStandin> {
  const validate = options.validate ?? validateStix;
  const client = new AMQPClient(options.amqpUrl);
  await client.connect();
  const channel = await client.channel();
  await channel.prefetch(16);

  const received: ReceivedMessage[] = [];
  const objects = new Map<string, Record<string, unknown>>();
  const errors: string[] = [];
  const dropped: ReceivedMessage[] = [];
  const listeners = new Set<() => void>();

  const standin: WorkerStandin = {
    received,
    objects,
    errors,
    dropped,
    waitFor: (predicate, timeoutMs = DEFAULT_WAIT_MS) =>
      waitUntil(standin, listeners, predicate, timeoutMs),
    async stop() {
      await consumer.cancel().catch(() => {});
      await client.close().catch(() => {});
    },
  };

  const consumer = await channel.basicConsume(
    options.queue,
    { noAck: false },
    async (delivery) => {
      await handleDelivery(delivery, channel, options, validate, standin);
      for (const listener of listeners) listener();
    },
  );
  return standin;
}

async function handleDelivery(
  delivery: AMQPMessage,
  channel: AMQPChannel,
  options: WorkerStandinOptions,
  validate: (object: unknown) => void,
  standin: WorkerStandin,
): Promise<void> {
  const outcome = decodeDelivery(delivery, validate);
  if (outcome.received !== undefined) standin.received.push(outcome.received);

  const workId = outcome.received?.message.work_id;
  const alive = workId === undefined || options.isWorkAlive === undefined ||
    await options.isWorkAlive(workId);
  if (!alive) {
    standin.dropped.push(outcome.received!);
  } else if (outcome.error === undefined) {
    const object = outcome.received!.bundle.objects as Array<
      Record<string, unknown>
    >;
    standin.objects.set(object[0].id as string, object[0]);
    if (workId !== undefined) await options.reportExpectation(workId, null);
  } else {
    standin.errors.push(outcome.error);
    if (workId !== undefined) {
      await options.reportExpectation(workId, {
        error: outcome.error,
        source: outcome.source ?? "",
      });
    }
  }
  await channel.basicAck(delivery.deliveryTag);
}

interface DeliveryOutcome {
  received?: ReceivedMessage;
  error?: string;
  source?: string;
}

function decodeDelivery(
  delivery: AMQPMessage,
  validate: (object: unknown) => void,
): DeliveryOutcome {
  const body = delivery.bodyToString() ?? "";
  const parsed = parseMessage(body);
  if (typeof parsed === "string") return { error: parsed, source: body };

  const received: ReceivedMessage = {
    ...parsed.origin,
    bundle: parsed.bundle,
    deliveryMode: delivery.properties.deliveryMode,
    contentEncoding: delivery.properties.contentEncoding,
    contentType: delivery.properties.contentType,
    headers: delivery.properties.headers,
  };
  const problem =
    (received.origin === "connector" ? checkDelivery(received) : undefined) ??
      checkObject(parsed.bundle, validate);
  const source = JSON.stringify(parsed.bundle.objects);
  return problem === undefined
    ? { received }
    : { received, error: problem, source };
}

function parseMessage(
  body: string,
): { origin: MessageOrigin; bundle: Record<string, unknown> } | string {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return "message body is not JSON";
  }
  const origin = parseOrigin(json);
  if (typeof origin === "string") return origin;

  let content: unknown;
  try {
    content = decodeContent(origin.message.content);
  } catch {
    return "content is not base64 of a JSON document";
  }
  const bundle = subBundleSchema.safeParse(content);
  if (!bundle.success) return `invalid sub-bundle: ${bundle.error.message}`;
  return { origin, bundle: content as Record<string, unknown> };
}

/** Tells the connector's format (`bundle_type`) from the platform's. */
function parseOrigin(json: unknown): MessageOrigin | string {
  const fromConnector = typeof json === "object" && json !== null &&
    "bundle_type" in json;
  if (fromConnector) {
    const message = queueMessageSchema.safeParse(json);
    return message.success
      ? { origin: "connector", message: message.data }
      : `invalid message: ${message.error.message}`;
  }

  const message = platformMessageSchema.safeParse(json);
  return message.success
    ? { origin: "platform", message: message.data }
    : `invalid message: ${message.error.message}`;
}

/** Checks the properties pycti publishes with. */
function checkDelivery(received: ReceivedMessage): string | undefined {
  if (received.deliveryMode !== 2) {
    return `delivery mode is ${received.deliveryMode}, expected 2 (persistent)`;
  }
  if (received.contentEncoding !== "utf-8") {
    return `content encoding is ${received.contentEncoding}, expected utf-8`;
  }
  if (received.contentType !== undefined) {
    return `content type is ${received.contentType}, expected none`;
  }
  if (received.headers !== undefined && Object.keys(received.headers).length) {
    return "message has headers, expected none";
  }
  return undefined;
}

function checkObject(
  bundle: Record<string, unknown>,
  validate: (object: unknown) => void,
): string | undefined {
  const objects = bundle.objects as Array<Record<string, unknown>>;
  if (objects.length !== 1) {
    return `sub-bundle has ${objects.length} objects, expected 1`;
  }
  const [object] = objects;
  if (object.nb_deps !== bundle.x_opencti_seq) {
    return `x_opencti_seq ${bundle.x_opencti_seq} differs from nb_deps ${object.nb_deps}`;
  }
  try {
    validate(object);
  } catch (error) {
    return `invalid ${object.type} ${object.id}: ${
      error instanceof Error ? error.message : String(error)
    }`;
  }
  return undefined;
}

function waitUntil(
  standin: WorkerStandin,
  listeners: Set<() => void>,
  predicate: (standin: WorkerStandin) => boolean,
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      if (!predicate(standin)) return;
      finish();
      resolve();
    };
    const timer = setTimeout(() => {
      finish();
      reject(
        new Error(
          `Worker stand-in timed out after ${timeoutMs} ms with ${standin.received.length} messages, ${standin.objects.size} objects and ${standin.errors.length} errors`,
        ),
      );
    }, timeoutMs);
    const finish = () => {
      clearTimeout(timer);
      listeners.delete(check);
    };
    listeners.add(check);
    check();
  });
}

const CREATED = "2024-01-15T10:30:00.000Z";
const TLP_GREEN = {
  type: "marking-definition",
  spec_version: "2.1",
  id: "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
  created: "2017-01-20T00:00:00.000Z",
  definition_type: "tlp",
  name: "TLP:GREEN",
  definition: { tlp: "green" },
};

/**
 * Builds a page that the stand-in's default validation accepts: an author,
 * TLP:GREEN, `count` IPv4 observables, an indicator based on each, and a
 * report of all of them, in that order. The ids are random, so pages never
 * collide.
 */
export function samplePage(count: number): Array<Record<string, unknown>> {
  const author = {
    type: "identity",
    spec_version: "2.1",
    id: `identity--${crypto.randomUUID()}`,
    created: CREATED,
    modified: CREATED,
    name: "Cofense",
    identity_class: "organization",
  };
  const common = {
    created_by_ref: author.id,
    object_marking_refs: [TLP_GREEN.id],
  };
  const observables: Array<Record<string, unknown>> = [];
  const indicators: Array<Record<string, unknown>> = [];
  const relationships: Array<Record<string, unknown>> = [];

  for (let index = 0; index < count; index++) {
    const value = `198.51.${Math.floor(index / 250)}.${(index % 250) + 1}`;
    const observable = {
      type: "ipv4-addr",
      spec_version: "2.1",
      id: `ipv4-addr--${crypto.randomUUID()}`,
      value,
      x_opencti_created_by_ref: author.id,
      object_marking_refs: [TLP_GREEN.id],
    };
    const indicator = {
      type: "indicator",
      spec_version: "2.1",
      id: `indicator--${crypto.randomUUID()}`,
      created: CREATED,
      modified: CREATED,
      ...common,
      name: value,
      pattern: `[ipv4-addr:value = '${value}']`,
      pattern_type: "stix",
      valid_from: CREATED,
    };
    relationships.push({
      type: "relationship",
      spec_version: "2.1",
      id: `relationship--${crypto.randomUUID()}`,
      created: CREATED,
      modified: CREATED,
      ...common,
      relationship_type: "based-on",
      source_ref: indicator.id,
      target_ref: observable.id,
    });
    observables.push(observable);
    indicators.push(indicator);
  }

  // An indicator and its observable have the same dependency count, and
  // the splitter keeps the page order between equal counts.
  const objects: Array<Record<string, unknown>> = [
    author,
    TLP_GREEN,
    ...observables,
    ...indicators,
    ...relationships,
  ];
  objects.push({
    type: "report",
    spec_version: "2.1",
    id: `report--${crypto.randomUUID()}`,
    created: CREATED,
    modified: CREATED,
    ...common,
    name: "Sample page",
    published: CREATED,
    object_refs: objects.slice(2).map((object) => object.id),
  });
  return objects;
}
