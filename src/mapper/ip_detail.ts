/**
 * The objects Cofense's IP lookup (`ipDetail`) adds to an observable: the
 * autonomous system and the country of the address, and, for a URL or a
 * domain, the address the name resolved to.
 *
 * A resolved address gets no score and never becomes an indicator, because
 * Cofense did not judge it malicious. It still takes the score of a block
 * of the same threat that names it.
 */
import { locationId, scoId } from "../stix/ids.ts";
import type { AutonomousSystem, Location, StixObject } from "../stix/types.ts";
import type { IpDetail } from "../threathq/threat_schema.ts";
import { AUTHOR_ID, SHARED_OBJECT_TIME } from "./author.ts";
import { LabelSet } from "./labels.ts";
import type { DraftCollection } from "./observable_draft.ts";
import { domainProblem, ipv4Problem } from "./observable_values.ts";
import { makeRelationship } from "./relationships.ts";
import { urlHost } from "./self_reference.ts";
import type { ObjectContext } from "./threat_context.ts";

/** The observable an `ipDetail` describes, after its own checks passed. */
export type IpSubject =
  | { kind: "ipv4-addr"; id: string; value: string }
  | { kind: "domain-name"; id: string }
  /** `host` is Cofense's own host part, when the block gives one. */
  | { kind: "url"; id: string; value: string; host?: string };

/** The collections a lookup's results are added to. */
export interface IpDetailOutput {
  drafts: DraftCollection;
  /** Autonomous systems, countries and relationships. */
  related: StixObject[];
}

const MAX_AS_NUMBER = 4294967295;

const COUNTRY_CODE_PATTERN = /^[A-Za-z]{2}$/;

function hasLookupData(detail: IpDetail): boolean {
  return detail.asn !== undefined || detail.countryIsoCode !== undefined ||
    detail.countryName !== undefined;
}

/** Returns the host of a URL subject when it is a domain name, not an IP. */
function hostDomain(subject: { value: string; host?: string }) {
  const host = subject.host?.trim() || urlHost(subject.value);
  if (host === undefined || ipv4Problem(host) === undefined) return undefined;
  return domainProblem(host) === undefined ? host : undefined;
}

/** Links a name to the address it resolved to. */
function linkResolution(
  subject: Exclude<IpSubject, { kind: "ipv4-addr" }>,
  addressId: string,
  context: ObjectContext,
  output: IpDetailOutput,
): void {
  if (subject.kind === "domain-name") {
    output.related.push(
      makeRelationship("resolves-to", subject.id, addressId, context),
    );
    return;
  }

  const host = hostDomain(subject);
  if (host === undefined) {
    output.related.push(
      makeRelationship("related-to", subject.id, addressId, context),
    );
    return;
  }

  const hostId = scoId("domain-name", { value: host });
  output.drafts.add({
    kind: "domain-name",
    id: hostId,
    value: host,
    impact: undefined,
    labels: new LabelSet(),
    malwareRefs: new Set(),
  });
  output.related.push(
    makeRelationship("resolves-to", hostId, addressId, context),
  );
}

/**
 * Returns whether a valid dotted IPv4 address is loopback, private,
 * link-local, shared (CGNAT), unspecified, multicast or reserved. Such an
 * address in a DNS lookup carries no information about the threat, and one
 * shared address would link every report that resolved to it.
 */
export function isNonPublicIpv4(ip: string): boolean {
  const [a, b] = ip.split(".").map(Number);
  return a === 0 || a === 10 || a === 127 || a >= 224 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168);
}

/**
 * Returns the id of the address the lookup describes, adding a resolved
 * address and its link, or undefined when there is none to use.
 */
function lookedUpAddress(
  detail: IpDetail,
  path: string,
  subject: IpSubject,
  context: ObjectContext,
  output: IpDetailOutput,
): string | undefined {
  const ip = detail.ip?.trim() ?? "";
  if (subject.kind === "ipv4-addr") {
    if (ip === "" || ip === subject.value) return subject.id;

    context.problems.add(
      `${path}.ip`,
      detail.ip,
      `differs from the block's address ${subject.value}; the lookup is skipped`,
    );
    return undefined;
  }

  if (ip === "") {
    if (hasLookupData(detail)) {
      context.problems.add(
        `${path}.ip`,
        detail.ip,
        "no resolved address; the lookup's ASN and country are skipped",
      );
    }
    return undefined;
  }
  const problem = ipv4Problem(ip);
  if (problem !== undefined) {
    context.problems.add(
      `${path}.ip`,
      detail.ip,
      `${problem}; skipped with the lookup's ASN and country`,
    );
    return undefined;
  }

  if (isNonPublicIpv4(ip)) {
    context.problems.add(
      `${path}.ip`,
      detail.ip,
      "resolved to a loopback, private or reserved address; skipped with the lookup's ASN and country",
    );
    return undefined;
  }

  const addressId = scoId("ipv4-addr", { value: ip });
  output.drafts.add({
    kind: "ipv4-addr",
    id: addressId,
    value: ip,
    impact: undefined,
    labels: new LabelSet(),
    malwareRefs: new Set(),
  });
  linkResolution(subject, addressId, context, output);
  return addressId;
}

/** Reads an AS number given as an integer or a decimal string. */
function asNumber(value: number | string): number | undefined {
  let number: number;
  if (typeof value === "number") {
    number = value;
  } else if (/^\d+$/.test(value.trim())) {
    number = Number(value.trim());
  } else {
    return undefined;
  }

  const inRange = number >= 1 && number <= MAX_AS_NUMBER;
  return Number.isInteger(number) && inRange ? number : undefined;
}

function autonomousSystem(
  detail: IpDetail,
  path: string,
  addressId: string,
  context: ObjectContext,
): StixObject[] {
  if (detail.asn === undefined) return [];

  const number = asNumber(detail.asn);
  if (number === undefined) {
    context.problems.add(
      `${path}.asn`,
      detail.asn,
      `not an AS number: expected an integer from 1 to ${MAX_AS_NUMBER}; skipped`,
    );
    return [];
  }

  const name = detail.asnOrganization?.trim() || undefined;
  const system: AutonomousSystem = {
    type: "autonomous-system",
    spec_version: "2.1",
    id: scoId("autonomous-system", { number }),
    number,
    ...(name === undefined ? {} : { name }),
    object_marking_refs: [context.markingId],
    x_opencti_created_by_ref: AUTHOR_ID,
  };
  return [
    system,
    makeRelationship("belongs-to", addressId, system.id, context),
  ];
}

/**
 * Builds the country of the address. Both `countryIsoCode` and
 * `countryName` are needed: OpenCTI identifies a country by its name, and
 * STIX requires the code.
 */
function country(
  detail: IpDetail,
  path: string,
  addressId: string,
  context: ObjectContext,
): StixObject[] {
  const code = detail.countryIsoCode?.trim() ?? "";
  const name = detail.countryName?.trim() ?? "";
  if (code === "" || name === "") return [];

  if (!COUNTRY_CODE_PATTERN.test(code)) {
    context.problems.add(
      `${path}.countryIsoCode`,
      detail.countryIsoCode,
      "not an ISO 3166-1 alpha-2 country code: expected two letters; the country is skipped",
    );
    return [];
  }

  const location: Location = {
    type: "location",
    spec_version: "2.1",
    id: locationId(name, "Country"),
    created: SHARED_OBJECT_TIME,
    modified: SHARED_OBJECT_TIME,
    name,
    country: code.toUpperCase(),
    x_opencti_location_type: "Country",
    created_by_ref: AUTHOR_ID,
    object_marking_refs: [context.markingId],
  };
  return [
    location,
    makeRelationship("located-at", addressId, location.id, context),
  ];
}

/**
 * Maps the `ipDetail` found at `path` for `subject`. Values that are not a
 * valid IPv4 address, AS number or country code are skipped with a problem.
 */
export function mapIpDetail(
  detail: IpDetail,
  path: string,
  subject: IpSubject,
  context: ObjectContext,
  output: IpDetailOutput,
): void {
  const addressId = lookedUpAddress(detail, path, subject, context, output);
  if (addressId === undefined) return;

  output.related.push(
    ...autonomousSystem(detail, path, addressId, context),
    ...country(detail, path, addressId, context),
  );
}
