/**
 * Splits a STIX bundle into one-object bundles the way pycti 6.9's
 * `OpenCTIStix2Splitter.split_bundle_with_expectations` does, so OpenCTI's
 * workers receive exactly what a Python connector would send.
 *
 * The splitter walks each object's references depth-first and counts its
 * dependencies (`nb_deps`: 1 for the object plus the counts of the objects
 * it references). Messages are then sorted by that count, so markings and
 * authors go before what references them and the report goes last. On the
 * way it rewrites references as pycti does:
 *
 * - a `*_refs` list keeps only supported, non-cyclic references, each once
 *   (with cleanup, also only references to objects in the bundle);
 * - a `*_ref` value that fails the same test becomes `null`;
 * - `external_references` lose entries with neither `url` nor
 *   `source_name` plus `external_id`, and entries repeating a `url`;
 * - `kill_chain_phases` lose repeated (kill chain, phase) pairs.
 *
 * A relationship left without `source_ref` or `target_ref`, a sighting
 * without `sighting_of_ref` or `where_sighted_refs`, and an object whose id
 * type OpenCTI does not support are not sent and not counted.
 */
import { z } from "zod";

/** The OpenCTI extension that can carry an object's internal id. */
const OPENCTI_EXTENSION =
  "extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba";

/**
 * The id prefixes pycti 6.9 accepts (`is_id_supported`): its entity,
 * internal and observable types, plus relationships, sightings and `pir`.
 */
const SUPPORTED_TYPES: ReadonlySet<string> = new Set([
  // STIX meta objects
  "label",
  "vocabulary",
  "kill-chain-phase",
  // STIX domain objects and OpenCTI containers
  "attack-pattern",
  "campaign",
  "case-incident",
  "x-opencti-case-incident",
  "case-rfi",
  "x-opencti-case-rfi",
  "case-rft",
  "x-opencti-case-rft",
  "channel",
  "course-of-action",
  "data-component",
  "x-mitre-data-component",
  "data-source",
  "x-mitre-data-source",
  "event",
  "external-reference",
  "feedback",
  "x-opencti-feedback",
  "grouping",
  "identity",
  "incident",
  "indicator",
  "infrastructure",
  "intrusion-set",
  "language",
  "location",
  "malware",
  "malware-analysis",
  "marking-definition",
  "narrative",
  "note",
  "observed-data",
  "opinion",
  "report",
  "task",
  "x-opencti-task",
  "threat-actor",
  "tool",
  "vulnerability",
  "security-coverage",
  // OpenCTI internal objects
  "user",
  "group",
  "capability",
  "role",
  "settings",
  "notification",
  "work",
  "trash",
  "draftworkspace",
  "playbook",
  "deleteoperation",
  "workspace",
  "publicdashboard",
  // STIX cyber observables, with OpenCTI's own
  "autonomous-system",
  "directory",
  "domain-name",
  "email-addr",
  "email-message",
  "email-mime-part-type",
  "artifact",
  "file",
  "x509-certificate",
  "ipv4-addr",
  "ipv6-addr",
  "mac-addr",
  "mutex",
  "network-traffic",
  "process",
  "software",
  "url",
  "user-account",
  "windows-registry-key",
  "windows-registry-value-type",
  "hostname",
  "cryptographic-key",
  "cryptocurrency-wallet",
  "text",
  "user-agent",
  "bank-account",
  "phone-number",
  "credential",
  "tracking-number",
  "payment-card",
  "media-content",
  "simple-observable",
  "persona",
  "ssh-key",
  // Relationships
  "relationship",
  "sighting",
  "pir",
]);

/** A STIX object as parsed JSON. */
export type JsonObject = Record<string, unknown>;

/** An object after the split, with its dependency count. */
export type SplitObject = JsonObject & {
  id: string;
  type: string;
  nb_deps: number;
};

/** A one-object bundle as OpenCTI's workers receive it. */
export interface SplitBundle {
  type: "bundle";
  /** The id of the bundle that was split; every part carries it. */
  id: string;
  spec_version: "2.1";
  /** The object's dependency count, its `nb_deps`. */
  x_opencti_seq: number;
  objects: [SplitObject];
  x_opencti_event_version?: string;
}

export interface SplitResult {
  /** One bundle per sent object, dependencies first. */
  bundles: SplitBundle[];
  /** The number of objects the workers will import and report. */
  expectations: number;
  /** Objects left out: dangling relationships and sightings, unknown types. */
  incompatible: JsonObject[];
}

export interface SplitOptions {
  /**
   * Removes references to objects that are not in the bundle, so a
   * relationship to a missing object is dropped instead of failing in the
   * worker. Default true, as the connector template and the Cofense
   * ThreatHQ connector pass it (pycti's own default is false).
   */
  cleanupInconsistentBundle?: boolean;
  /** Written as `x_opencti_event_version` on every part when set. */
  eventVersion?: string;
}

/** The input bundle did not have the shape of a STIX bundle. */
export class InvalidBundleError extends Error {
  constructor(detail: string) {
    super(`The bundle to split is invalid: ${detail}`);
    this.name = "InvalidBundleError";
  }
}

const objectSchema = z.looseObject({ id: z.string(), type: z.string() });

const bundleSchema = z.looseObject({
  id: z.string().optional(),
  objects: z.array(objectSchema),
});

/** Returns whether OpenCTI supports the type before `--`; other ids pass. */
export function isIdSupported(id: string): boolean {
  const separator = id.indexOf("--");
  if (separator === -1) return true;
  return SUPPORTED_TYPES.has(id.slice(0, separator));
}

/**
 * Splits the objects of one page into one-object bundles. The input objects
 * are copied, never changed. The parts share `bundleId`, a new
 * `bundle--<uuid4>` by default.
 */
export function splitObjects(
  objects: readonly object[],
  options: SplitOptions & { bundleId?: string } = {},
): SplitResult {
  const bundleId = options.bundleId ?? `bundle--${crypto.randomUUID()}`;
  return splitBundle({ id: bundleId, objects }, options);
}

/**
 * Splits a STIX bundle given as parsed JSON. Throws `InvalidBundleError`
 * when it has no `objects` list or an object lacks a string `id` or `type`.
 */
export function splitBundle(
  bundle: unknown,
  options: SplitOptions = {},
): SplitResult {
  const parsed = bundleSchema.safeParse(bundle);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue.path.length > 0 ? issue.path.join(".") : "bundle";
    throw new InvalidBundleError(`${where}: ${issue.message}`);
  }

  // zod rebuilds objects with the declared keys first, so the copy is made
  // from the input to keep its key order. pycti parses a JSON string, so it
  // also works on its own copy.
  const input = (bundle as { objects: unknown[] }).objects;
  const objects = JSON.parse(JSON.stringify(input)) as Array<
    JsonObject & { id: string }
  >;
  const bundleId = parsed.data.id ?? `bundle--${crypto.randomUUID()}`;
  const walk = new DependencyWalk(
    indexObjects(objects),
    options.cleanupInconsistentBundle ?? true,
  );
  for (const object of objects) walk.enlist(object.id, []);

  // Array.prototype.sort is stable, as Python's list.sort is.
  const elements = walk.elements.sort((left, right) =>
    depsOf(left) - depsOf(right)
  );
  const bundles = elements.map((object) =>
    partBundle(bundleId, object, options.eventVersion)
  );
  return {
    bundles,
    expectations: bundles.length,
    incompatible: walk.incompatible,
  };
}

function partBundle(
  bundleId: string,
  object: JsonObject,
  eventVersion: string | undefined,
): SplitBundle {
  const part: SplitBundle = {
    type: "bundle",
    id: bundleId,
    spec_version: "2.1",
    x_opencti_seq: depsOf(object),
    objects: [object as SplitObject],
  };
  if (eventVersion !== undefined) part.x_opencti_event_version = eventVersion;
  return part;
}

function depsOf(object: JsonObject): number {
  return object.nb_deps as number;
}

/** Indexes each object by its STIX id and its OpenCTI internal ids. */
function indexObjects(objects: JsonObject[]): Map<string, JsonObject> {
  const index = new Map<string, JsonObject>();
  for (const object of objects) {
    index.set(object.id as string, object);
    for (const internalId of internalIds(object)) index.set(internalId, object);
  }
  return index;
}

/** `x_opencti_id` and the OpenCTI extension's `id`, when set and not empty. */
function internalIds(object: JsonObject): string[] {
  const ids: string[] = [];
  if (object.x_opencti_id) ids.push(object.x_opencti_id as string);

  const extensions = object.extensions as Record<string, unknown> | undefined;
  const extension = extensions?.[OPENCTI_EXTENSION] as
    | Record<string, unknown>
    | undefined;
  if (extension?.id) ids.push(extension.id as string);
  return ids;
}

/**
 * The state of one split: pycti's `cache_index` (objects already counted,
 * under every id), `cache_refs` (the references each id kept, which stops
 * a reference back to an object that depends on it) and the output lists.
 */
class DependencyWalk {
  readonly elements: JsonObject[] = [];
  readonly incompatible: JsonObject[] = [];
  private readonly counted = new Map<string, JsonObject>();
  private readonly keptReferences = new Map<string, string[]>();

  constructor(
    private readonly index: Map<string, JsonObject>,
    private readonly cleanup: boolean,
  ) {}

  /**
   * Counts the dependencies of the object with `id`, rewriting its
   * references in place. `chain` holds the references followed to get here,
   * without the object the walk started from, exactly as pycti keeps it.
   */
  enlist(id: string, chain: readonly string[]): number {
    const object = this.index.get(id);
    if (object === undefined) return 0;

    const cached = this.counted.get(id);
    if (cached !== undefined) return depsOf(cached);

    if (!this.keptReferences.has(id)) this.keptReferences.set(id, []);
    let deps = 1;
    for (const key of Object.keys(object)) {
      const value = object[key];
      if (key.endsWith("_refs") && value !== null && value !== undefined) {
        deps += this.enlistList(object, key, id, chain);
      } else if (key.endsWith("_ref")) {
        deps += this.enlistSingle(object, key, id, chain);
      } else if (key === "external_references" && value != null) {
        object[key] = dedupeExternalReferences(value as JsonObject[]);
      } else if (key === "kill_chain_phases" && value != null) {
        object[key] = dedupeKillChainPhases(value as JsonObject[]);
      }
    }

    object.nb_deps = deps;
    this.record(id, object);
    return deps;
  }

  private enlistList(
    object: JsonObject,
    key: string,
    id: string,
    chain: readonly string[],
  ): number {
    const references = object[key];
    if (!Array.isArray(references)) return 0;

    let deps = 0;
    // A Set keeps insertion order, so the list keeps pycti's order.
    const kept = new Set<string>();
    for (const reference of references) {
      if (this.follows(reference, id, chain)) {
        this.keptReferences.get(id)!.push(reference);
        deps += this.enlist(reference, [...chain, reference]);
        kept.add(reference);
      }
    }
    if (references.length > 0) object[key] = [...kept];
    return deps;
  }

  private enlistSingle(
    object: JsonObject,
    key: string,
    id: string,
    chain: readonly string[],
  ): number {
    const reference = object[key];
    if (!this.follows(reference, id, chain)) {
      object[key] = null;
      return 0;
    }

    this.keptReferences.get(id)!.push(reference);
    return this.enlist(reference, [...chain, reference]);
  }

  /** pycti's test for keeping a reference from the object `id`. */
  private follows(
    reference: unknown,
    id: string,
    chain: readonly string[],
  ): reference is string {
    if (typeof reference !== "string") return false;

    const missing = !this.index.has(reference);
    const dependsOnUs = this.keptReferences.get(reference)?.includes(id) ??
      false;
    return isIdSupported(reference) &&
      !(missing && this.cleanup) &&
      !chain.includes(reference) &&
      reference !== id &&
      !dependsOnUs;
  }

  private record(id: string, object: JsonObject): void {
    if (this.counted.has(id)) return;

    if (isCompatible(id, object)) this.elements.push(object);
    else this.incompatible.push(object);
    this.counted.set(id, object);
    for (const internalId of internalIds(object)) {
      this.counted.set(internalId, object);
    }
  }
}

function isCompatible(id: string, object: JsonObject): boolean {
  if (object.type === "relationship") {
    return object.source_ref != null && object.target_ref != null;
  }
  if (object.type === "sighting") {
    const sightedBy = object.where_sighted_refs;
    return object.sighting_of_ref != null &&
      Array.isArray(sightedBy) && sightedBy.length > 0;
  }
  return isIdSupported(id);
}

/**
 * Keeps the first external reference of each identity: its `url` when it
 * has one, else its `source_name` with its `external_id`. A reference with
 * neither is dropped. pycti compares the UUIDv5 of the same fields.
 */
function dedupeExternalReferences(references: JsonObject[]): JsonObject[] {
  const seen = new Set<string>();
  const kept: JsonObject[] = [];
  for (const reference of references) {
    const identity = externalReferenceIdentity(reference);
    if (identity === undefined || seen.has(identity)) continue;

    seen.add(identity);
    kept.push(reference);
  }
  return kept;
}

function externalReferenceIdentity(reference: JsonObject): string | undefined {
  if (reference.url != null) return JSON.stringify(["url", reference.url]);
  if (reference.source_name != null && reference.external_id != null) {
    return JSON.stringify([
      "source",
      reference.source_name,
      reference.external_id,
    ]);
  }
  return undefined;
}

/** Keeps the first kill chain phase of each (kill chain, phase) pair. */
function dedupeKillChainPhases(phases: JsonObject[]): JsonObject[] {
  const seen = new Set<string>();
  const kept: JsonObject[] = [];
  for (const phase of phases) {
    const identity = JSON.stringify([
      phase.kill_chain_name ?? null,
      phase.phase_name ?? null,
    ]);
    if (seen.has(identity)) continue;

    seen.add(identity);
    kept.push(phase);
  }
  return kept;
}
