/**
 * Zod schemas for the STIX 2.1 property types that many objects share:
 * identifiers, timestamps, references, external references, hashes and
 * OpenCTI's custom properties.
 */
import { z } from "zod";
import { hashAlgorithm, validHash } from "./hashes.ts";

const UUID_TEXT =
  "[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";

/** Any STIX identifier: `<type>--<RFC 9562 UUID>` in lower case. */
export const anyIdentifier = z.string().regex(
  new RegExp(`^[a-z][a-z0-9-]*[a-z0-9]--${UUID_TEXT}$`),
  { error: "expected a STIX id <type>--<lower-case UUID>" },
);

/** Builds the schema of an identifier whose prefix is one of `types`. */
export function identifier(...types: string[]) {
  const pattern = new RegExp(`^(${types.join("|")})--${UUID_TEXT}$`);
  return z.string().regex(pattern, {
    error: `expected a ${types.join(" or ")} id <type>--<lower-case UUID>`,
  });
}

const TIMESTAMP_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z$/;

/** Returns whether an RFC 3339 UTC timestamp names a real calendar time. */
function isCalendarTime(value: string): boolean {
  const parsed = new Date(value);
  if (Number.isNaN(parsed.getTime())) return false;
  return parsed.toISOString().slice(0, 19) === value.slice(0, 19);
}

/** A STIX 2.1 timestamp: RFC 3339 in UTC with `Z`, any fraction digits. */
export const timestamp = z.string().refine(
  (value) => TIMESTAMP_PATTERN.test(value) && isCalendarTime(value),
  { error: "expected an RFC 3339 UTC timestamp like 2024-01-31T12:00:00.000Z" },
);

/**
 * Orders two STIX timestamps: negative, zero or positive. Fractions are
 * compared to the nanosecond, which `Date` cannot do.
 */
export function compareTimestamps(a: string, b: string): number {
  const widen = (value: string) => {
    const [seconds, fraction = ""] = value.slice(0, -1).split(".");
    return seconds + "." + fraction.padEnd(9, "0").slice(0, 9);
  };

  const left = widen(a);
  const right = widen(b);
  if (left < right) return -1;
  return left > right ? 1 : 0;
}

/** An integer from 0 to 100, as `confidence` and `x_opencti_score` are. */
export const percentage = z.number().int().min(0).max(100);

export const nonEmptyText = z.string().min(1);

const BASE64_PATTERN =
  /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard base64 (RFC 4648 section 4) with padding, no line breaks. */
export const base64 = z.string().regex(BASE64_PATTERN, {
  error: "expected padded base64 without line breaks",
});

/** A hash dictionary: vocabulary key names and values valid per algorithm. */
export const hashes = z.record(z.string().min(1).max(250), z.string())
  .superRefine((value, context) => {
    const entries = Object.entries(value);
    if (entries.length === 0) {
      context.addIssue({
        code: "custom",
        message: "hashes must not be empty: leave the property out instead",
      });
    }

    for (const [key, hash] of entries) {
      const algorithm = hashAlgorithm(key);
      if (algorithm === undefined) continue;

      if (algorithm !== key) {
        context.addIssue({
          code: "custom",
          path: [key],
          message: `hash key ${key} must be written ${algorithm}`,
        });
      } else if (!validHash(algorithm, hash)) {
        context.addIssue({
          code: "custom",
          path: [key],
          message: `invalid ${algorithm} hash ${JSON.stringify(hash)}`,
        });
      }
    }
  });

export const killChainPhase = z.strictObject({
  kill_chain_name: nonEmptyText,
  phase_name: nonEmptyText,
});

/**
 * A file OpenCTI attaches to the object on import. `data` is the base64 of
 * the bytes. `no_trigger_import: true` keeps file-import connectors from
 * starting on it.
 */
export const openctiFile = z.strictObject({
  name: nonEmptyText,
  data: base64,
  mime_type: nonEmptyText,
  object_marking_refs: z.array(identifier("marking-definition")),
  no_trigger_import: z.boolean(),
  version: z.string().optional(),
  embedded: z.boolean().optional(),
});

export const externalReference = z.strictObject({
  source_name: nonEmptyText,
  description: z.string().optional(),
  url: z.string().optional(),
  hashes: hashes.optional(),
  external_id: z.string().optional(),
  x_opencti_files: z.array(openctiFile).optional(),
}).refine(
  (reference) =>
    reference.description !== undefined || reference.url !== undefined ||
    reference.external_id !== undefined,
  { error: "an external reference needs a description, url or external_id" },
);

/** OpenCTI's custom properties that every object type accepts. */
const openctiCommonProperties = {
  x_opencti_id: z.string().optional(),
  x_opencti_stix_ids: z.array(anyIdentifier).optional(),
  x_opencti_granted_refs: z.array(identifier("identity")).optional(),
  x_opencti_files: z.array(openctiFile).optional(),
  x_opencti_workflow_id: z.string().optional(),
  /** Added by OpenCTI's bundle splitter: the object's dependency count. */
  nb_deps: z.number().optional(),
};

/** Returns the common properties of STIX domain objects and relationships. */
export function domainObjectProperties<const Type extends string>(type: Type) {
  return {
    type: z.literal(type),
    spec_version: z.literal("2.1"),
    id: identifier(type),
    created: timestamp,
    modified: timestamp,
    created_by_ref: identifier("identity").optional(),
    revoked: z.boolean().optional(),
    labels: z.array(nonEmptyText).optional(),
    confidence: percentage.optional(),
    lang: z.string().optional(),
    external_references: z.array(externalReference).optional(),
    object_marking_refs: z.array(identifier("marking-definition")).optional(),
    extensions: z.record(z.string(), z.unknown()).optional(),
    ...openctiCommonProperties,
  };
}

function forbiddenOnObservables(property: string, replacement: string) {
  return z.never({
    error: `observables cannot carry ${property}: use ${replacement}`,
  }).optional();
}

/**
 * Returns the common properties of STIX cyber-observable objects. STIX 2.1
 * forbids `created_by_ref`, `labels`, `description` and
 * `external_references` on them, so OpenCTI reads `x_opencti_*` forms
 * instead.
 */
export function observableProperties<const Type extends string>(type: Type) {
  return {
    type: z.literal(type),
    spec_version: z.literal("2.1"),
    id: identifier(type),
    object_marking_refs: z.array(identifier("marking-definition")).optional(),
    defanged: z.boolean().optional(),
    extensions: z.record(z.string(), z.unknown()).optional(),
    created_by_ref: forbiddenOnObservables(
      "created_by_ref",
      "x_opencti_created_by_ref",
    ),
    labels: forbiddenOnObservables("labels", "x_opencti_labels"),
    description: forbiddenOnObservables(
      "description",
      "x_opencti_description",
    ),
    external_references: forbiddenOnObservables(
      "external_references",
      "x_opencti_external_references",
    ),
    x_opencti_created_by_ref: identifier("identity").optional(),
    x_opencti_labels: z.array(nonEmptyText).optional(),
    x_opencti_description: z.string().optional(),
    x_opencti_score: percentage.optional(),
    x_opencti_external_references: z.array(externalReference).optional(),
    x_opencti_create_indicator: z.boolean().optional(),
    ...openctiCommonProperties,
  };
}

/**
 * Adds an issue at `path` when both timestamps are present and `later` comes
 * before `earlier`, or equals it when `strictly` is true.
 */
export function checkOrder(
  context: z.RefinementCtx,
  earlier: string | undefined,
  later: string | undefined,
  path: string,
  strictly = false,
): void {
  if (earlier === undefined || later === undefined) return;

  const order = compareTimestamps(later, earlier);
  if (order > 0 || (order === 0 && !strictly)) return;

  const relation = strictly ? "later than" : "the same as or later than";
  context.addIssue({
    code: "custom",
    path: [path],
    message: `${path} ${later} must be ${relation} ${earlier}`,
  });
}
