/**
 * Sectors from `naicsCodes`: each label split into sector names, each name
 * an identity of class `class`, as OpenCTI models sectors.
 */
import { identityId } from "../stix/ids.ts";
import type { Identity } from "../stix/types.ts";
import { AUTHOR_ID, SHARED_OBJECT_TIME } from "./author.ts";
import { splitSectorNames } from "./sector_names.ts";
import type { ThreatContext } from "./threat_context.ts";

export interface Sectors {
  /** Sector names in first-seen order, without repeats. */
  names: string[];
  identities: Identity[];
}

function sectorIdentity(name: string, markingId: string): Identity {
  return {
    type: "identity",
    spec_version: "2.1",
    id: identityId(name, "class"),
    created: SHARED_OBJECT_TIME,
    modified: SHARED_OBJECT_TIME,
    name,
    identity_class: "class",
    created_by_ref: AUTHOR_ID,
    object_marking_refs: [markingId],
  };
}

/** Builds one identity per distinct sector name (the same id, once). */
export function makeSectors(context: ThreatContext): Sectors {
  const byId = new Map<string, Identity>();
  for (const code of context.threat.naicsCodes) {
    for (const name of splitSectorNames(code.label)) {
      const identity = sectorIdentity(name, context.markingId);
      if (!byId.has(identity.id)) byId.set(identity.id, identity);
    }
  }

  const identities = [...byId.values()];
  return { names: identities.map((identity) => identity.name), identities };
}
