/** The author of everything imported: Cofense ThreatHQ as an organization. */
import { identityId } from "../stix/ids.ts";
import type { Identity } from "../stix/types.ts";

export const AUTHOR_NAME = "Cofense ThreatHQ";

export const AUTHOR_ID = identityId(AUTHOR_NAME, "organization");

/**
 * `created` and `modified` of objects that are the same in every threat
 * (the author and sectors), so repeated imports send identical objects.
 */
export const SHARED_OBJECT_TIME = "2020-01-01T00:00:00.000Z";

/** Builds the author identity, marked with the configured TLP. */
export function authorIdentity(markingId: string): Identity {
  return {
    type: "identity",
    spec_version: "2.1",
    id: AUTHOR_ID,
    created: SHARED_OBJECT_TIME,
    modified: SHARED_OBJECT_TIME,
    name: AUTHOR_NAME,
    identity_class: "organization",
    description:
      "Cofense ThreatHQ, the Cofense Intelligence portal: phishing and malware campaigns analysed by Cofense, with their indicators.",
    x_opencti_organization_type: "vendor",
    object_marking_refs: [markingId],
    external_references: [{
      source_name: AUTHOR_NAME,
      url: "https://www.threathq.com/",
      description: "Cofense ThreatHQ portal",
    }],
  };
}
