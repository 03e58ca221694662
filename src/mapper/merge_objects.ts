/**
 * Merges the objects of several mapped threats into one list with each id
 * once, as a bundle must have them. Two threats can make the same object:
 * the author, a marking, a sector, an observable both name, or the report of
 * a threat listed twice. The first one is then kept with the labels,
 * external references and object references of both, and the higher score.
 */
import type { ExternalReference, StixObject } from "../stix/types.ts";
import { LabelSet } from "./labels.ts";

type Properties = Record<string, unknown>;

function mergeLabels(first: unknown, second: unknown): string[] | undefined {
  const labels = new LabelSet([
    ...(first as string[] | undefined) ?? [],
    ...(second as string[] | undefined) ?? [],
  ]);
  return labels.size > 0 ? labels.toArray() : undefined;
}

function mergeReferences(
  first: unknown,
  second: unknown,
): ExternalReference[] | undefined {
  const byKey = new Map<string, ExternalReference>();
  for (const reference of [first, second].flatMap((list) => list ?? [])) {
    const { source_name, external_id, url } = reference as ExternalReference;
    const key = JSON.stringify([source_name, external_id, url]);
    if (!byKey.has(key)) byKey.set(key, reference as ExternalReference);
  }
  return byKey.size > 0 ? [...byKey.values()] : undefined;
}

function mergeIds(first: unknown, second: unknown): string[] | undefined {
  const ids = [
    ...(first as string[] | undefined) ?? [],
    ...(second as string[] | undefined) ?? [],
  ];
  return ids.length > 0 ? [...new Set(ids)] : undefined;
}

function maxScore(first: unknown, second: unknown): number | undefined {
  const scores = [first, second].filter((score) => typeof score === "number");
  return scores.length > 0 ? Math.max(...scores as number[]) : undefined;
}

function mergePair(first: StixObject, second: StixObject): StixObject {
  const a = first as Properties;
  const b = second as Properties;
  const merged: Properties = { ...a };
  const set = (key: string, value: unknown) => {
    if (value !== undefined) merged[key] = value;
  };

  set("labels", mergeLabels(a.labels, b.labels));
  set("x_opencti_labels", mergeLabels(a.x_opencti_labels, b.x_opencti_labels));
  set(
    "external_references",
    mergeReferences(a.external_references, b.external_references),
  );
  set(
    "x_opencti_external_references",
    mergeReferences(
      a.x_opencti_external_references,
      b.x_opencti_external_references,
    ),
  );
  set("object_refs", mergeIds(a.object_refs, b.object_refs));
  set("x_opencti_score", maxScore(a.x_opencti_score, b.x_opencti_score));
  return merged as StixObject;
}

/** Returns the objects with each id once, in first-seen order. */
export function mergeObjects(objects: readonly StixObject[]): StixObject[] {
  const byId = new Map<string, StixObject>();
  for (const object of objects) {
    const existing = byId.get(object.id);
    byId.set(
      object.id,
      existing === undefined ? object : mergePair(existing, object),
    );
  }
  return [...byId.values()];
}
