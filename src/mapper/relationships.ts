/**
 * Relationships between the objects of one threat. OpenCTI rejects a
 * relationship type it does not accept between the two entity types, and
 * the worker then drops the relationship. `related-to` is accepted between
 * any two types. The README lists the relationships the connector writes.
 */
import { relationshipId } from "../stix/ids.ts";
import type { Relationship } from "../stix/types.ts";
import { AUTHOR_ID } from "./author.ts";
import type { ObjectContext } from "./threat_context.ts";

/** The relationship types the mapper writes. */
export type RelationshipType =
  | "based-on"
  | "indicates"
  | "related-to"
  | "belongs-to"
  | "located-at"
  | "resolves-to"
  | "exploits";

/** Builds a relationship dated, authored and marked like the threat. */
export function makeRelationship(
  relationshipType: RelationshipType,
  sourceRef: string,
  targetRef: string,
  context: ObjectContext,
): Relationship {
  return {
    type: "relationship",
    spec_version: "2.1",
    id: relationshipId(relationshipType, sourceRef, targetRef),
    created: context.times.created,
    modified: context.times.modified,
    relationship_type: relationshipType,
    source_ref: sourceRef,
    target_ref: targetRef,
    created_by_ref: AUTHOR_ID,
    object_marking_refs: [context.markingId],
  };
}
