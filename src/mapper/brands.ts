/**
 * Brands Cofense names: as table rows of a malware report, and as
 * organization identities of a phish report, which imitates them.
 */
import { identityId } from "../stix/ids.ts";
import type { Identity } from "../stix/types.ts";
import { AUTHOR_ID, SHARED_OBJECT_TIME } from "./author.ts";
import { LabelSet } from "./labels.ts";
import type { ObjectContext } from "./threat_context.ts";

/** ThreatHQ's brand entry for "no brand" (id 2051, text "None"). */
const NO_BRAND_ID = 2051;

/** A brand entry as both threat types carry it. */
export interface BrandEntry {
  id?: number;
  text?: string;
}

function isRealBrand(brand: BrandEntry | undefined): brand is BrandEntry {
  return brand !== undefined && brand.id !== NO_BRAND_ID &&
    brand.text?.trim().toLowerCase() !== "none";
}

/**
 * Returns the names of real brands, trimmed and each once without regard
 * to case: blank names and ThreatHQ's "no brand" entry are left out.
 */
export function brandNames(
  brands: ReadonlyArray<BrandEntry | undefined>,
): string[] {
  const names = brands.filter(isRealBrand).map((brand) => brand.text);
  return new LabelSet(names).toArray();
}

/** Builds one organization identity per distinct brand name. */
export function brandIdentities(
  names: readonly string[],
  context: ObjectContext,
): Identity[] {
  const byId = new Map<string, Identity>();
  for (const name of names) {
    const id = identityId(name, "organization");
    if (byId.has(id)) continue;

    byId.set(id, {
      type: "identity",
      spec_version: "2.1",
      id,
      created: SHARED_OBJECT_TIME,
      modified: SHARED_OBJECT_TIME,
      name,
      identity_class: "organization",
      created_by_ref: AUTHOR_ID,
      object_marking_refs: [context.markingId],
    });
  }
  return [...byId.values()];
}
