/**
 * Deterministic STIX 2.1 ids: `<type>--<uuid v5>` over the RFC 8785
 * canonical JSON of a few properties per type.
 *
 * Domain objects, relationships and markings follow the OpenCTI platform's
 * standard-id rules (names lower-cased with JavaScript `toLowerCase()` and
 * `trim()`, timestamps as `toISOString()`), so an id made here equals the
 * `standard_id` the platform stores. Observables follow the STIX 2.1
 * specification's id-contributing properties, as the `stix2` library does.
 */
import { createHash } from "node:crypto";
import { type HashAlgorithm, normalizeHashes } from "./hashes.ts";

export { type HashAlgorithm, hashAlgorithm, validHash } from "./hashes.ts";

/** The STIX 2.1 namespace for observable ids, which OpenCTI uses for all. */
export const STIX_NAMESPACE = "00abedb4-aa42-466c-9c01-fed23315a9b7";

/**
 * The fixed ids OpenCTI gives its TLP markings, keyed by the `definition` of
 * a marking whose `definition_type` is exactly `TLP`.
 */
export const TLP_DEFINITION_IDS: Readonly<Record<string, string>> = {
  "TLP:CLEAR": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
  "TLP:WHITE": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
  "TLP:GREEN": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
  "TLP:AMBER": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
  "TLP:AMBER+STRICT":
    "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37",
  "TLP:RED": "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
};

/**
 * Serializes a JSON value in the RFC 8785 canonical form: object keys sorted
 * by UTF-16 code units, no whitespace, and `JSON.stringify` strings and
 * numbers. Object properties whose value is `undefined` are left out.
 *
 * Throws a `TypeError` for values JSON cannot hold (`NaN`, infinities,
 * bigints, functions, `undefined` in an array).
 *
 * NOTE: lone UTF-16 surrogates are written as `\udXXX` escapes, where RFC
 * 8785 rejects them, and class instances such as `Date` are written as
 * their own enumerable properties. Pass plain JSON data.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === "boolean") return String(value);

  if (typeof value === "number") {
    if (!Number.isFinite(value)) {
      throw new TypeError(`cannot write the number ${value} as JSON`);
    }
    return JSON.stringify(value);
  }

  if (typeof value === "string") return JSON.stringify(value);

  if (Array.isArray(value)) {
    const items = value.map((item) => {
      if (item === undefined) {
        throw new TypeError("cannot write undefined in a JSON array");
      }
      return canonicalJson(item);
    });
    return `[${items.join(",")}]`;
  }

  if (typeof value === "object") {
    const members = Object.entries(value)
      .filter(([, member]) => member !== undefined)
      .sort(([a], [b]) => compareCodeUnits(a, b))
      .map(([key, member]) =>
        `${JSON.stringify(key)}:${canonicalJson(member)}`
      );
    return `{${members.join(",")}}`;
  }

  throw new TypeError(`cannot write a ${typeof value} as JSON`);
}

function compareCodeUnits(a: string, b: string): number {
  if (a < b) return -1;
  return a > b ? 1 : 0;
}

const UUID_PATTERN =
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function uuidBytes(uuid: string): Uint8Array {
  if (!UUID_PATTERN.test(uuid)) {
    throw new TypeError(
      `invalid UUID namespace ${
        JSON.stringify(uuid)
      }: expected the 8-4-4-4-12 hexadecimal form`,
    );
  }

  const hex = uuid.replaceAll("-", "");
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  }
  return bytes;
}

function formatUuid(bytes: Uint8Array): string {
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0"))
    .join("");
  return [
    hex.slice(0, 8),
    hex.slice(8, 12),
    hex.slice(12, 16),
    hex.slice(16, 20),
    hex.slice(20, 32),
  ].join("-");
}

/**
 * Computes the RFC 9562 version 5 UUID of `name` (hashed as UTF-8) in
 * `namespace`, in lower-case 8-4-4-4-12 form.
 */
export function uuidv5(namespace: string, name: string): string {
  const digest = createHash("sha1")
    .update(uuidBytes(namespace))
    .update(new TextEncoder().encode(name))
    .digest();

  const bytes = new Uint8Array(digest.subarray(0, 16));
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  return formatUuid(bytes);
}

/**
 * Formats epoch milliseconds as `YYYY-MM-DDTHH:mm:ss.sssZ`, the form the
 * OpenCTI platform hashes for timestamps in ids.
 *
 * Throws a `RangeError` for a value that is not a finite time.
 */
export function isoMillis(epochMs: number): string {
  const date = new Date(epochMs);
  if (!Number.isFinite(epochMs) || Number.isNaN(date.getTime())) {
    throw new RangeError(
      `invalid epoch milliseconds ${epochMs}: expected a finite number ` +
        "within ±8.64e15",
    );
  }
  return date.toISOString();
}

/** Builds `<type>--<uuid v5>` over the canonical JSON of `data`. */
export function deterministicId(
  type: string,
  data: Record<string, unknown>,
): string {
  return `${type}--${uuidv5(STIX_NAMESPACE, canonicalJson(data))}`;
}

function normalizeName(name: string): string {
  return name.toLowerCase().trim();
}

/** Computes the report id over `{name, published}`, `published` as given. */
export function reportId(name: string, published: string): string {
  return deterministicId("report", { name: normalizeName(name), published });
}

/**
 * Computes the identity id over `{name, identity_class}`. The class is
 * lower-cased but not trimmed: `organization`, `individual`, `class` (a
 * sector), `system`.
 */
export function identityId(name: string, identityClass: string): string {
  return deterministicId("identity", {
    name: normalizeName(name),
    identity_class: identityClass.toLowerCase(),
  });
}

export function malwareId(name: string): string {
  return deterministicId("malware", { name: normalizeName(name) });
}

export function vulnerabilityId(name: string): string {
  return deterministicId("vulnerability", { name: normalizeName(name) });
}

/** Computes the indicator id over the trimmed pattern, with case kept. */
export function indicatorId(pattern: string): string {
  return deterministicId("indicator", { pattern: pattern.trim() });
}

/**
 * Computes the relationship id over `{relationship_type, source_ref,
 * target_ref}` plus `start_time`, and `stop_time` only when `start_time` is
 * given. No value is normalized, so pass timestamps in the `isoMillis` form.
 */
export function relationshipId(
  relationshipType: string,
  sourceRef: string,
  targetRef: string,
  startTime?: string,
  stopTime?: string,
): string {
  const data: Record<string, unknown> = {
    relationship_type: relationshipType,
    source_ref: sourceRef,
    target_ref: targetRef,
  };
  if (startTime !== undefined) {
    data.start_time = startTime;
    if (stopTime !== undefined) data.stop_time = stopTime;
  }
  return deterministicId("relationship", data);
}

export interface Coordinates {
  latitude?: number;
  longitude?: number;
}

/**
 * Computes the location id over `{name, x_opencti_location_type}` (`City`,
 * `Country`, `Region`, `Administrative-Area`). A `Position` is identified by
 * its coordinates when either is given, else by its name alone.
 */
export function locationId(
  name: string,
  locationType: string,
  coordinates: Coordinates = {},
): string {
  if (locationType !== "Position") {
    return deterministicId("location", {
      name: normalizeName(name),
      x_opencti_location_type: locationType,
    });
  }

  const { latitude, longitude } = coordinates;
  if (latitude === undefined && longitude === undefined) {
    return deterministicId("location", { name: normalizeName(name) });
  }
  return deterministicId("location", { latitude, longitude });
}

/**
 * Computes the marking-definition id over `{definition_type, definition}`,
 * both unchanged. A `TLP` marking with a TLP definition gets OpenCTI's fixed
 * id instead.
 */
export function markingId(definitionType: string, definition: string): string {
  const fixed = definitionType === "TLP"
    ? TLP_DEFINITION_IDS[definition]
    : undefined;
  if (fixed !== undefined) return fixed;

  return deterministicId("marking-definition", {
    definition_type: definitionType,
    definition,
  });
}

/**
 * The id-contributing properties of each observable type, from the STIX 2.1
 * specification (section 6) and OpenCTI's custom observable types.
 */
const SCO_ID_PROPERTIES: Readonly<Record<string, readonly string[]>> = {
  "artifact": ["hashes", "payload_bin"],
  "autonomous-system": ["number"],
  "directory": ["path"],
  "domain-name": ["value"],
  "email-addr": ["value"],
  "email-message": ["from_ref", "subject", "body"],
  "file": ["hashes", "name", "parent_directory_ref", "extensions"],
  "ipv4-addr": ["value"],
  "ipv6-addr": ["value"],
  "mac-addr": ["value"],
  "mutex": ["name"],
  "network-traffic": [
    "start",
    "end",
    "src_ref",
    "dst_ref",
    "src_port",
    "dst_port",
    "protocols",
    "extensions",
  ],
  "process": [],
  "software": ["name", "cpe", "swid", "vendor", "version"],
  "url": ["value"],
  "user-account": ["account_type", "user_id", "account_login"],
  "hostname": ["value"],
  "text": ["value"],
  "user-agent": ["value"],
  "bank-account": ["iban"],
  "payment-card": ["card_number"],
  "persona": ["persona_name", "persona_type"],
  "ssh-key": ["fingerprint_sha256"],
};

/** The hash preference STIX 2.1 gives for ids: MD5, SHA-1, SHA-256, SHA-512. */
const ID_HASH_PREFERENCE: readonly HashAlgorithm[] = [
  "MD5",
  "SHA-1",
  "SHA-256",
  "SHA-512",
];

/** Reduces a hash dictionary to the one entry that contributes to an id. */
function chooseOneHash(hashes: Record<string, string>): Record<string, string> {
  const preferred = ID_HASH_PREFERENCE.find((name) => name in hashes);
  const key = preferred ?? Object.keys(hashes)[0];
  return { [key]: hashes[key] };
}

/** `stix2` ignores properties set to null or to an empty list. */
function isAbsent(value: unknown): boolean {
  return value === undefined || value === null ||
    (Array.isArray(value) && value.length === 0);
}

function autonomousSystemNumber(value: unknown): number {
  const number = typeof value === "string" && /^[+-]?\d+$/.test(value.trim())
    ? Number(value.trim())
    : value;
  if (typeof number !== "number" || !Number.isSafeInteger(number)) {
    throw new TypeError(
      `invalid autonomous-system number ${
        JSON.stringify(value)
      }: expected an integer`,
    );
  }
  return number;
}

function hashesForId(type: string, value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(
      `invalid ${type} hashes ${
        JSON.stringify(value)
      }: expected an object of algorithm to value`,
    );
  }

  const hashes = normalizeHashes(value as Record<string, unknown>);
  if (Object.keys(hashes).length === 0) {
    throw new TypeError(
      `invalid ${type} hashes {}: leave hashes out instead of sending none`,
    );
  }
  return chooseOneHash(hashes);
}

function contributingProperties(
  type: string,
  names: readonly string[],
  properties: Record<string, unknown>,
): Record<string, unknown> {
  const data: Record<string, unknown> = {};

  for (const name of names) {
    const value = properties[name];
    if (isAbsent(value)) continue;

    if (name === "hashes") data.hashes = hashesForId(type, value);
    else if (name === "number") data.number = autonomousSystemNumber(value);
    else data[name] = value;
  }

  return data;
}

/**
 * Builds the id of an observable from its id-contributing properties, used
 * as given (no case change, no trimming). `file` hashes count as one entry,
 * chosen by preference MD5, SHA-1, SHA-256, SHA-512, else the first key.
 * With no contributing property present the id is a random version 4 UUID.
 *
 * Throws a `TypeError` for a type with no id rule, for a hash whose value
 * does not fit its algorithm, for empty `hashes`, and for a `file` with
 * neither hashes nor a name, because STIX forbids all of these.
 */
export function scoId(
  type: string,
  properties: Record<string, unknown>,
): string {
  const names = SCO_ID_PROPERTIES[type];
  if (names === undefined) {
    throw new TypeError(
      `no id rule for observable type ${
        JSON.stringify(type)
      }: expected one of ${Object.keys(SCO_ID_PROPERTIES).join(", ")}`,
    );
  }

  const data = contributingProperties(type, names, properties);
  if (type === "file" && data.hashes === undefined && data.name === undefined) {
    throw new TypeError(
      `invalid file ${
        JSON.stringify(properties)
      }: a file needs a valid hash or a name`,
    );
  }

  if (Object.keys(data).length === 0) return `${type}--${crypto.randomUUID()}`;
  return deterministicId(type, data);
}
