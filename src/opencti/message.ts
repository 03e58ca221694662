/**
 * The message format of OpenCTI's push queue, as pycti 6.9's `_send_bundle`
 * writes it and OpenCTI's worker reads it, and the JSON text layout of
 * Python's `json.dumps`, which pycti uses for message bodies, sub-bundles
 * and directory files.
 */
import { z } from "zod";
import type { SplitBundle } from "./splitter.ts";

/** One push-queue message, with its keys in pycti's order. */
export interface QueueMessage {
  bundle_type: "QUEUE_BUNDLE";
  /** The connector's user id from registration; the worker acts as it. */
  applicant_id: string | null;
  /** 1-based position of the message within its page. */
  action_sequence: number;
  /** Types the worker keeps; empty means every type. */
  entities_types: string[];
  /** Standard base64, with padding, of the sub-bundle's UTF-8 JSON. */
  content: string;
  update: boolean;
  draft_id: string | null;
  /** Absent, not null, when there is no work. */
  work_id?: string;
}

export interface QueueMessageFields {
  applicantId: string | null;
  sequence: number;
  workId?: string;
  entitiesTypes?: string[];
  update?: boolean;
  draftId?: string | null;
}

/** The shape every push-queue message must have, for consumers and tests. */
export const queueMessageSchema = z.strictObject({
  bundle_type: z.literal("QUEUE_BUNDLE"),
  applicant_id: z.string().nullable(),
  action_sequence: z.number().int().min(1),
  entities_types: z.array(z.string()),
  content: z.base64(),
  update: z.boolean(),
  draft_id: z.string().nullable(),
  work_id: z.string().optional(),
});

/** Builds the message that carries one sub-bundle. */
export function queueMessage(
  bundle: SplitBundle,
  fields: QueueMessageFields,
): QueueMessage {
  const message: QueueMessage = {
    bundle_type: "QUEUE_BUNDLE",
    applicant_id: fields.applicantId,
    action_sequence: fields.sequence,
    entities_types: fields.entitiesTypes ?? [],
    content: encodeContent(bundle),
    update: fields.update ?? false,
    draft_id: fields.draftId ?? null,
  };
  if (fields.workId !== undefined) message.work_id = fields.workId;
  return message;
}

/** Returns the base64 of a bundle's JSON, as pycti writes `content`. */
export function encodeContent(bundle: unknown): string {
  return new TextEncoder().encode(pythonJsonDumps(bundle)).toBase64();
}

/** Decodes a message's `content` back to the bundle it carries. */
export function decodeContent(content: string): unknown {
  return JSON.parse(new TextDecoder().decode(Uint8Array.fromBase64(content)));
}

/**
 * Serializes a JSON value as Python's `json.dumps` does with its defaults:
 * `", "` and `": "` separators, and every character outside printable ASCII
 * written as a `\uXXXX` escape (astral characters as surrogate pairs).
 * Keys whose value is `undefined` are left out, as `JSON.stringify` does.
 *
 * NOTE: JavaScript has one number type, so a float with an integral value
 * (Python `1.0`) is written `1`. Consumers parse the text, so the value is
 * the same.
 */
export function pythonJsonDumps(value: unknown): string {
  return escapeNonAscii(layout(value));
}

function layout(value: unknown): string {
  if (Array.isArray(value)) {
    const items = value.map((item) =>
      item === undefined ? "null" : layout(item)
    );
    return `[${items.join(", ")}]`;
  }
  if (value !== null && typeof value === "object" && !hasToJson(value)) {
    const members: string[] = [];
    for (const [key, member] of Object.entries(value)) {
      if (member === undefined) continue;
      members.push(`${JSON.stringify(key)}: ${layout(member)}`);
    }
    return `{${members.join(", ")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

function hasToJson(value: object): boolean {
  return typeof (value as { toJSON?: unknown }).toJSON === "function";
}

/**
 * Escapes each UTF-16 code unit outside U+0020..U+007E. Such units can only
 * stand inside JSON strings, because the layout itself is ASCII.
 */
function escapeNonAscii(text: string): string {
  return text.replace(
    /[^\x20-\x7e]/g,
    (unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
