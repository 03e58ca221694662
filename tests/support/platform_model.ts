/**
 * What the platform stand-in stores about connectors and works, and the
 * rules OpenCTI 6.9 applies to them: how a ping saves or drops the state,
 * and when a work is complete.
 */
import type { ConnectorQueues } from "./platform_broker.ts";

/** The RabbitMQ connection the platform returns at registration. */
export interface BrokerConnection {
  host: string;
  vhost: string;
  use_ssl: boolean;
  port: number;
  user: string;
  pass: string;
}

/** The user that owns the stand-in's token. */
export interface StandinUser {
  id: string;
  name: string;
  user_email: string;
  capabilities: string[];
}

export interface StandinConnector {
  id: string;
  name: string;
  type: string;
  scope: string[];
  auto: boolean;
  auto_update: boolean;
  enrichment_resolution: string | null;
  only_contextual: boolean;
  playbook_compatible: boolean;
  /** The saved state: `null`, `""` after a reset, or the string last pinged. */
  connector_state: string | null;
  /** Set by a UI reset; the next ping then drops the state it carries. */
  connector_state_reset: boolean;
  connector_user_id: string;
  connector_info: Record<string, unknown> | null;
  created_at: string;
  updated_at: string;
  queues: ConnectorQueues;
  /** The push queue's size in bytes, as the management API would report. */
  queue_messages_size: number;
  registrations: number;
  pings: number;
}

export interface WorkMessage {
  timestamp: string;
  message: string | null;
  source?: string | null;
}

export interface StandinWork {
  id: string;
  connectorId: string;
  name: string;
  status: "progress" | "complete";
  received_time: string;
  processed_time: string | null;
  completed_time: string | null;
  expected: number;
  processed: number;
  messages: WorkMessage[];
  errors: WorkMessage[];
  /**
   * Whether the work's counters still exist, as OpenCTI keeps them in
   * redis. Workers drop messages of a work that is not alive.
   */
  alive: boolean;
  deleted: boolean;
  /** How many times `toProcessed` was called; more than once is a bug. */
  processedCalls: number;
  /** Operations on this work after `toProcessed`, by operation name. */
  callsAfterProcessed: string[];
}

/** OpenCTI keeps at most this many errors on a work. */
const MAX_WORK_ERRORS = 100;

/** A connector counts as active when it pinged within this time. */
const ACTIVE_WINDOW_MS = 5 * 60 * 1000;

/**
 * Applies a ping to a connector as OpenCTI's `pingConnector` does. After a
 * UI reset it only clears the reset flag, so the state sent is dropped and
 * `updated_at` stays. Otherwise it saves the state and bumps `updated_at`.
 */
export function applyPing(
  connector: StandinConnector,
  state: string | null,
  connectorInfo: Record<string, unknown> | null,
  now: Date,
): void {
  connector.pings += 1;
  if (connector.connector_state_reset) {
    connector.connector_state_reset = false;
  } else {
    connector.connector_state = state;
    connector.updated_at = now.toISOString();
  }
  if (connectorInfo !== null) connector.connector_info = connectorInfo;
}

/** Returns whether the connector pinged within the last five minutes. */
export function isActive(connector: StandinConnector, now: Date): boolean {
  return now.getTime() - Date.parse(connector.updated_at) < ACTIVE_WINDOW_MS;
}

/** Creates a work in status `progress` with no expectations. */
export function newWork(
  id: string,
  connectorId: string,
  name: string,
  now: Date,
): StandinWork {
  return {
    id,
    connectorId,
    name,
    status: "progress",
    received_time: now.toISOString(),
    processed_time: null,
    completed_time: null,
    expected: 0,
    processed: 0,
    messages: [],
    errors: [],
    alive: true,
    deleted: false,
    processedCalls: 0,
    callsAfterProcessed: [],
  };
}

function noteIfProcessed(work: StandinWork, operationName: string): void {
  if (work.processedCalls > 0) work.callsAfterProcessed.push(operationName);
}

export function addExpectations(work: StandinWork, count: number): void {
  noteIfProcessed(work, "addExpectations");
  work.expected += count;
}

/**
 * Counts one imported message, as the worker reports it. The work becomes
 * complete when the processed count reaches the expected one.
 */
export function reportExpectation(
  work: StandinWork,
  error: { error?: unknown; source?: unknown } | null,
  now: Date,
): void {
  noteIfProcessed(work, "reportExpectation");
  work.processed += 1;

  if (error !== null && work.errors.length < MAX_WORK_ERRORS) {
    work.errors.push({
      timestamp: now.toISOString(),
      message: typeof error.error === "string" ? error.error : null,
      source: typeof error.source === "string" ? error.source : null,
    });
  }
  if (work.processed === work.expected) complete(work, now);
}

/**
 * Ends the connector's part of a work. It completes at once when nothing is
 * expected or the counts already match, and then its counters are deleted
 * (it is no longer alive). Otherwise it stays in progress until the last
 * worker report.
 */
export function toProcessed(
  work: StandinWork,
  message: string | null,
  inError: boolean,
  now: Date,
): void {
  noteIfProcessed(work, "toProcessed");
  work.processedCalls += 1;
  work.processed_time = now.toISOString();

  const entry = { timestamp: now.toISOString(), message };
  if (inError) work.errors.push(entry);
  else work.messages.push(entry);

  if (work.expected === 0 || work.processed === work.expected) {
    complete(work, now);
    work.alive = false;
  }
}

function complete(work: StandinWork, now: Date): void {
  work.status = "complete";
  work.completed_time = now.toISOString();
}

/** The `Work` object as the schema returns it. */
export function workView(work: StandinWork): Record<string, unknown> {
  return {
    id: work.id,
    name: work.name,
    status: work.status,
    timestamp: work.received_time,
    received_time: work.received_time,
    processed_time: work.processed_time,
    completed_time: work.completed_time,
    completed_number: work.processed,
    tracking: {
      import_expected_number: work.expected,
      import_processed_number: work.processed,
    },
    messages: work.messages,
    errors: work.errors,
  };
}
