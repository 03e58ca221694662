/**
 * The platform stand-in's knowledge: a small store of identities, reports,
 * indicators, labels and external references, and the GraphQL fields that
 * read and edit them (`reports`, `indicators`, `externalReferences`,
 * `labels`, `labelAdd`, `stixDomainObjectEdit`).
 *
 * Tests seed it with `importObjects`, which upserts STIX objects the way
 * OpenCTI's worker does, for the parts the store keeps. Objects get the
 * platform's standard ids, and a bundle id that differs is kept as an
 * alias in `x_opencti_stix_ids`. An upsert adds labels and references but
 * never removes one, and changes `revoked` only when the object has it.
 *
 * Filters support the keys the connector sends, with the operators `eq`
 * and `not_eq`. Any other key fails as OpenCTI fails on a key that its
 * schema lacks, so a test catches a filter the platform would reject.
 */
import {
  deterministicId,
  identityId,
  indicatorId,
  reportId,
} from "../../src/stix/ids.ts";
import {
  type FieldArguments,
  PlatformFailure,
  type RootResolvers,
} from "./platform_graphql.ts";

export interface KnowledgeLabel {
  id: string;
  value: string;
  color: string | null;
}

export interface KnowledgeExternalReference {
  id: string;
  standard_id: string;
  source_name: string;
  external_id: string | null;
  url: string | null;
}

export interface KnowledgeIdentity {
  id: string;
  standard_id: string;
  x_opencti_stix_ids: string[];
  name: string;
  identity_class: string;
}

interface Labelled {
  id: string;
  standard_id: string;
  x_opencti_stix_ids: string[];
  revoked: boolean;
  /** Internal id of the author identity, or null. */
  createdBy: string | null;
  /** Internal ids of the labels. */
  labels: string[];
  /** Internal ids of the external references. */
  externalReferences: string[];
}

export interface KnowledgeReport extends Labelled {
  entity_type: "Report";
  name: string;
  /** ISO 8601 with milliseconds, as the platform returns dates. */
  published: string | null;
  /** Internal ids of the contained objects the store keeps. */
  objects: string[];
}

export interface KnowledgeIndicator extends Labelled {
  entity_type: "Indicator";
  name: string;
  pattern: string;
}

type DomainObject = KnowledgeReport | KnowledgeIndicator;

type StixInput = Record<string, unknown>;

/** Nodes a list query returns when it gives no `first`. */
const DEFAULT_PAGE_SIZE = 500;

export class KnowledgeStore {
  readonly identities = new Map<string, KnowledgeIdentity>();
  readonly reports = new Map<string, KnowledgeReport>();
  readonly indicators = new Map<string, KnowledgeIndicator>();
  readonly labels = new Map<string, KnowledgeLabel>();
  readonly externalReferences = new Map<string, KnowledgeExternalReference>();

  /**
   * Upserts the identities, reports and indicators among `objects`, with
   * their labels and external references, and links each report to the
   * indicators of its `object_refs` that the store holds. Other objects
   * are ignored.
   */
  importObjects(objects: readonly unknown[]): void {
    const inputs = objects.filter(isRecord);
    for (const input of inputs) {
      if (input.type === "identity") this.#importIdentity(input);
    }
    for (const input of inputs) {
      if (input.type === "indicator") this.#importIndicator(input);
      if (input.type === "report") this.#importReport(input);
    }
    for (const input of inputs) {
      if (input.type === "report") this.#linkReportObjects(input);
    }
  }

  /** Imports the objects of a STIX bundle. */
  importBundle(bundle: { objects?: readonly unknown[] }): void {
    this.importObjects(bundle.objects ?? []);
  }

  /** Returns the report with this internal, standard or alias id. */
  report(id: string): KnowledgeReport | undefined {
    return findById(this.reports.values(), id);
  }

  /** Returns the indicator with this internal, standard or alias id. */
  indicator(id: string): KnowledgeIndicator | undefined {
    return findById(this.indicators.values(), id);
  }

  /** Returns the label values of a report or indicator, sorted. */
  labelValues(object: { labels: string[] }): string[] {
    return object.labels
      .map((labelId) => this.labels.get(labelId)?.value ?? labelId)
      .sort();
  }

  /** Returns the label with this value, created when missing. */
  labelNamed(value: string, color: string | null = null): KnowledgeLabel {
    const existing = [...this.labels.values()].find((label) =>
      label.value.toLowerCase() === value.toLowerCase()
    );
    if (existing !== undefined) return existing;

    const label = { id: crypto.randomUUID(), value, color };
    this.labels.set(label.id, label);
    return label;
  }

  /** Returns the GraphQL fields this store implements, by field name. */
  resolvers(): RootResolvers {
    return {
      externalReferences: (args) =>
        connection(
          this.#filtered(
            this.externalReferences.values(),
            args,
            EXTERNAL_REFERENCE_KEYS,
            externalReferenceValues,
          ),
          args,
        ),
      reports: (args) =>
        connection(
          this.#filtered(this.reports.values(), args, REPORT_KEYS, reportValues)
            .map((report) => this.#reportView(report)),
          args,
        ),
      report: (args) => {
        const report = this.report(String(args.id));
        return report === undefined ? null : this.#reportView(report);
      },
      indicators: (args) =>
        connection(
          this.#filtered(
            this.indicators.values(),
            args,
            INDICATOR_KEYS,
            indicatorValues,
          ).map((indicator) => this.#indicatorView(indicator)),
          args,
        ),
      labels: (args) =>
        connection(
          this.#filtered(this.labels.values(), args, LABEL_KEYS, labelValuesOf)
            .map(labelView),
          args,
        ),
      labelAdd: (args) => {
        const input = (args.input ?? {}) as Record<string, unknown>;
        const color = typeof input.color === "string" ? input.color : null;
        return labelView(this.labelNamed(String(input.value), color));
      },
      stixDomainObjectEdit: (args) => this.#editor(String(args.id)),
    };
  }

  #importIdentity(input: StixInput): void {
    const name = String(input.name ?? "");
    const identityClass = String(input.identity_class ?? "organization");
    const standardId = identityId(name, identityClass);
    const existing = findById(this.identities.values(), String(input.id)) ??
      findById(this.identities.values(), standardId);
    if (existing !== undefined) {
      addAlias(existing, String(input.id));
      return;
    }

    const identity: KnowledgeIdentity = {
      id: crypto.randomUUID(),
      standard_id: standardId,
      x_opencti_stix_ids: [],
      name,
      identity_class: identityClass,
    };
    addAlias(identity, String(input.id));
    this.identities.set(identity.id, identity);
  }

  #importReport(input: StixInput): void {
    const name = String(input.name ?? "");
    const published = typeof input.published === "string"
      ? new Date(input.published).toISOString()
      : null;
    const standardId = reportId(name, published ?? "");
    const existing = this.report(String(input.id)) ?? this.report(standardId);

    const report: KnowledgeReport = existing ?? {
      entity_type: "Report",
      id: crypto.randomUUID(),
      standard_id: standardId,
      x_opencti_stix_ids: [],
      name,
      published,
      revoked: false,
      createdBy: null,
      labels: [],
      externalReferences: [],
      objects: [],
    };
    if (existing !== undefined && existing.standard_id !== standardId) {
      addAlias(existing, existing.standard_id);
      existing.standard_id = standardId;
    }
    report.name = name;
    report.published = published;
    this.#upsertCommon(report, input);
    this.reports.set(report.id, report);
  }

  #importIndicator(input: StixInput): void {
    const pattern = String(input.pattern ?? "");
    const standardId = indicatorId(pattern);
    const existing = this.indicator(String(input.id)) ??
      this.indicator(standardId);

    const indicator: KnowledgeIndicator = existing ?? {
      entity_type: "Indicator",
      id: crypto.randomUUID(),
      standard_id: standardId,
      x_opencti_stix_ids: [],
      name: String(input.name ?? pattern),
      pattern,
      revoked: false,
      createdBy: null,
      labels: [],
      externalReferences: [],
    };
    this.#upsertCommon(indicator, input);
    this.indicators.set(indicator.id, indicator);
  }

  /** Applies the upsert rules shared by reports and indicators. */
  #upsertCommon(object: DomainObject, input: StixInput): void {
    addAlias(object, String(input.id));
    if (typeof input.revoked === "boolean") object.revoked = input.revoked;

    const author = typeof input.created_by_ref === "string"
      ? findById(this.identities.values(), input.created_by_ref)
      : undefined;
    if (author !== undefined && object.createdBy === null) {
      object.createdBy = author.id;
    }

    const labels = Array.isArray(input.labels) ? input.labels : [];
    for (const value of labels) {
      addUnique(object.labels, this.labelNamed(String(value)).id);
    }

    const references = Array.isArray(input.external_references)
      ? input.external_references.filter(isRecord)
      : [];
    for (const reference of references) {
      addUnique(object.externalReferences, this.#externalReference(reference));
    }
  }

  /** Returns the id of the reference, created when the store lacks it. */
  #externalReference(input: StixInput): string {
    const url = typeof input.url === "string" ? input.url : null;
    const externalId = typeof input.external_id === "string"
      ? input.external_id
      : null;
    const sourceName = String(input.source_name ?? "");
    const standardId = url !== null
      ? deterministicId("external-reference", { url })
      : deterministicId("external-reference", {
        source_name: sourceName,
        ...(externalId === null ? {} : { external_id: externalId }),
      });

    const existing = [...this.externalReferences.values()].find((reference) =>
      reference.standard_id === standardId
    );
    if (existing !== undefined) return existing.id;

    const reference: KnowledgeExternalReference = {
      id: crypto.randomUUID(),
      standard_id: standardId,
      source_name: sourceName,
      external_id: externalId,
      url,
    };
    this.externalReferences.set(reference.id, reference);
    return reference.id;
  }

  #linkReportObjects(input: StixInput): void {
    const report = this.report(String(input.id));
    if (report === undefined) return;

    const refs = Array.isArray(input.object_refs) ? input.object_refs : [];
    for (const ref of refs) {
      const indicator = this.indicator(String(ref));
      if (indicator !== undefined) addUnique(report.objects, indicator.id);
    }
  }

  /**
   * Returns the items that match `args.filters`. A filter key outside
   * `keys` fails as OpenCTI fails on a key that the type lacks.
   */
  #filtered<T>(
    items: Iterable<T>,
    args: FieldArguments,
    keys: readonly string[],
    valuesOf: (item: T, key: string) => string[],
  ): T[] {
    const all = [...items];
    if (!isRecord(args.filters)) return all;

    const group = args.filters;
    for (const key of filterKeys(group)) {
      if (keys.includes(key)) continue;
      throw new PlatformFailure(
        "FUNCTIONAL_ERROR",
        `incorrect filter keys not existing in any schema definition: ${key}`,
      );
    }
    return all.filter((item) =>
      matchesGroup(group, (key) => valuesOf(item, key))
    );
  }

  #authorView(identityId: string | null): Record<string, unknown> | null {
    const identity = identityId === null
      ? undefined
      : this.identities.get(identityId);
    if (identity === undefined) return null;
    return {
      ...identity,
      entity_type: "Organization",
      x_opencti_stix_ids: [...identity.x_opencti_stix_ids],
    };
  }

  #commonView(object: DomainObject): Record<string, unknown> {
    return {
      id: object.id,
      standard_id: object.standard_id,
      entity_type: object.entity_type,
      x_opencti_stix_ids: [...object.x_opencti_stix_ids],
      revoked: object.revoked,
      createdBy: this.#authorView(object.createdBy),
      objectLabel: object.labels.flatMap((labelId) => {
        const label = this.labels.get(labelId);
        return label === undefined ? [] : [labelView(label)];
      }),
      externalReferences: (args: FieldArguments) =>
        connection(
          object.externalReferences.flatMap((referenceId) => {
            const reference = this.externalReferences.get(referenceId);
            return reference === undefined ? [] : [reference];
          }),
          args,
        ),
    };
  }

  #reportView(report: KnowledgeReport): Record<string, unknown> {
    return {
      ...this.#commonView(report),
      name: report.name,
      published: report.published,
      objects: (args: FieldArguments) => {
        const types = Array.isArray(args.types) ? args.types.map(String) : [];
        const indicators = report.objects.flatMap((objectId) => {
          const indicator = this.indicators.get(objectId);
          return indicator === undefined ? [] : [indicator];
        });
        const requested = types.length === 0 || types.includes("Indicator")
          ? indicators
          : [];
        return connection(
          requested.map((indicator) => this.#indicatorView(indicator)),
          args,
        );
      },
    };
  }

  #indicatorView(indicator: KnowledgeIndicator): Record<string, unknown> {
    return {
      ...this.#commonView(indicator),
      name: indicator.name,
      pattern: indicator.pattern,
      reports: (args: FieldArguments) =>
        connection(
          [...this.reports.values()]
            .filter((report) => report.objects.includes(indicator.id))
            .map((report) => this.#reportView(report)),
          args,
        ),
    };
  }

  #editor(id: string): Record<string, unknown> {
    const object = this.report(id) ?? this.indicator(id);
    if (object === undefined) {
      throw new PlatformFailure(
        "FUNCTIONAL_ERROR",
        "Cannot edit the object, Stix-Domain-Object cannot be found.",
      );
    }
    const view = () =>
      object.entity_type === "Report"
        ? this.#reportView(object)
        : this.#indicatorView(object);

    return {
      relationAdd: (args: FieldArguments) => {
        const input = isRecord(args.input) ? args.input : {};
        const label = this.#requireLabel(input.relationship_type, input.toId);
        addUnique(object.labels, label.id);
        return {
          id: crypto.randomUUID(),
          relationship_type: "object-label",
          from: view(),
          to: labelView(label),
        };
      },
      relationDelete: (args: FieldArguments) => {
        const label = this.#requireLabel(args.relationship_type, args.toId);
        object.labels = object.labels.filter((labelId) => labelId !== label.id);
        return view();
      },
      fieldPatch: (args: FieldArguments) => {
        const inputs = Array.isArray(args.input) ? args.input : [];
        for (const input of inputs.filter(isRecord)) {
          applyPatch(object, input);
        }
        return view();
      },
    };
  }

  #requireLabel(relationshipType: unknown, toId: unknown): KnowledgeLabel {
    if (relationshipType !== "object-label") {
      throw new PlatformFailure(
        "UNSUPPORTED_ERROR",
        `The platform stand-in edits only object-label references, not ${
          String(relationshipType)
        }`,
      );
    }
    const label = this.labels.get(String(toId));
    if (label !== undefined) return label;
    throw new PlatformFailure(
      "FUNCTIONAL_ERROR",
      `Label ${String(toId)} not found`,
    );
  }
}

function applyPatch(object: DomainObject, input: StixInput): void {
  const values = Array.isArray(input.value) ? input.value : [];
  if (input.key !== "revoked" || values.length !== 1) {
    throw new PlatformFailure(
      "UNSUPPORTED_ERROR",
      `The platform stand-in patches only revoked, not ${String(input.key)}`,
    );
  }
  const value = values[0];
  object.revoked = value === true || value === "true";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function addUnique(list: string[], value: string): void {
  if (!list.includes(value)) list.push(value);
}

function addAlias(
  object: { standard_id: string; x_opencti_stix_ids: string[] },
  stixId: string,
): void {
  if (stixId !== object.standard_id) {
    addUnique(object.x_opencti_stix_ids, stixId);
  }
}

function idsOf(
  object: { id: string; standard_id: string; x_opencti_stix_ids?: string[] },
): string[] {
  return [object.id, object.standard_id, ...object.x_opencti_stix_ids ?? []];
}

function findById<
  T extends { id: string; standard_id: string; x_opencti_stix_ids: string[] },
>(items: Iterable<T>, id: string): T | undefined {
  for (const item of items) {
    if (idsOf(item).includes(id)) return item;
  }
  return undefined;
}

const COMMON_KEYS = [
  "ids",
  "objectLabel",
  "externalReferences",
  "createdBy",
  "revoked",
];
const REPORT_KEYS = [...COMMON_KEYS, "objects"];
const INDICATOR_KEYS = [...COMMON_KEYS, "pattern"];
const EXTERNAL_REFERENCE_KEYS = ["ids", "source_name", "external_id", "url"];
const LABEL_KEYS = ["ids", "value"];

function commonValues(object: DomainObject, key: string): string[] {
  if (key === "ids") return idsOf(object);
  if (key === "objectLabel") return object.labels;
  if (key === "externalReferences") return object.externalReferences;
  if (key === "createdBy") {
    return object.createdBy === null ? [] : [object.createdBy];
  }
  if (key === "revoked") return [String(object.revoked)];
  return [];
}

function reportValues(report: KnowledgeReport, key: string): string[] {
  return key === "objects" ? report.objects : commonValues(report, key);
}

function indicatorValues(indicator: KnowledgeIndicator, key: string) {
  return key === "pattern" ? [indicator.pattern] : commonValues(indicator, key);
}

function externalReferenceValues(
  reference: KnowledgeExternalReference,
  key: string,
): string[] {
  if (key === "ids") return [reference.id, reference.standard_id];
  if (key === "source_name") return [reference.source_name];
  if (key === "external_id") {
    return reference.external_id === null ? [] : [reference.external_id];
  }
  if (key === "url") return reference.url === null ? [] : [reference.url];
  return [];
}

function labelValuesOf(label: KnowledgeLabel, key: string): string[] {
  if (key === "ids") return [label.id];
  if (key === "value") return [label.value];
  return [];
}

/** Returns every filter key in a group and its nested groups. */
function filterKeys(group: Record<string, unknown>): string[] {
  const filters = Array.isArray(group.filters)
    ? group.filters.filter(isRecord)
    : [];
  const groups = Array.isArray(group.filterGroups)
    ? group.filterGroups.filter(isRecord)
    : [];
  return [
    ...filters.flatMap((filter) =>
      Array.isArray(filter.key) ? filter.key.map(String) : []
    ),
    ...groups.flatMap(filterKeys),
  ];
}

function labelView(label: KnowledgeLabel): Record<string, unknown> {
  return {
    ...label,
    standard_id: deterministicId("label", { value: label.value.toLowerCase() }),
    entity_type: "Label",
  };
}

/**
 * Returns whether an item matches a `FilterGroup`. `valuesOf` returns the
 * item's values for a key.
 */
function matchesGroup(
  group: Record<string, unknown>,
  valuesOf: (key: string) => string[],
): boolean {
  const filters = Array.isArray(group.filters)
    ? group.filters.filter(isRecord)
    : [];
  const groups = Array.isArray(group.filterGroups)
    ? group.filterGroups.filter(isRecord)
    : [];
  const results = [
    ...filters.map((filter) => matchesFilter(filter, valuesOf)),
    ...groups.map((inner) => matchesGroup(inner, valuesOf)),
  ];
  return group.mode === "or" ? results.some(Boolean) : results.every(Boolean);
}

function matchesFilter(
  filter: Record<string, unknown>,
  valuesOf: (key: string) => string[],
): boolean {
  const keys = Array.isArray(filter.key) ? filter.key.map(String) : [];
  const expected = Array.isArray(filter.values)
    ? filter.values.map(String)
    : [];
  const operator = filter.operator ?? "eq";
  if (operator !== "eq" && operator !== "not_eq") {
    throw new PlatformFailure(
      "UNSUPPORTED_ERROR",
      `The platform stand-in supports the operators eq and not_eq, not ${
        String(operator)
      }`,
    );
  }

  const present = keys.flatMap(valuesOf);
  const hits = expected.map((value) => present.includes(value));
  const mode = filter.mode ?? (operator === "eq" ? "or" : "and");
  const matched = mode === "and" ? hits.every(Boolean) : hits.some(Boolean);
  return operator === "eq" ? matched : !matched;
}

/** Builds a connection with offset cursors over `items`. */
function connection<T>(
  items: readonly T[],
  args: FieldArguments,
): Record<string, unknown> {
  const first = typeof args.first === "number" ? args.first : DEFAULT_PAGE_SIZE;
  const start = typeof args.after === "string" ? Number(args.after) : 0;
  const page = items.slice(start, start + first);
  const end = start + page.length;
  return {
    edges: page.map((node, index) => ({
      cursor: String(start + index + 1),
      node,
    })),
    pageInfo: {
      startCursor: String(start),
      endCursor: String(end),
      hasNextPage: end < items.length,
      hasPreviousPage: start > 0,
      globalCount: items.length,
    },
  };
}
