/**
 * Reproduces the reference STIX id vectors through the mapper. The vectors
 * in `tests/fixtures/stix-ids.jsonl` were computed by the Python stix2 and
 * pycti libraries. Each vector's input is put into a threat and mapped, and
 * the object emitted for it must carry the vector's id. Inputs the mapper
 * deliberately changes or rejects are listed with the reason. Inputs the
 * libraries reject ("error" lines) must not reach any object as given.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { hashAlgorithm } from "../../src/stix/hashes.ts";
import { isoMillis, reportId } from "../../src/stix/ids.ts";
import type { StixObject } from "../../src/stix/types.ts";
import { AUTHOR_ID } from "../../src/mapper/author.ts";
import {
  findOne,
  mapOk,
  ofType,
  reportOf,
  REPOSITORY_ROOT,
} from "./mapping_helpers.ts";

const t = suite("mapper: id vectors");

interface Vector {
  request: Record<string, unknown> & { kind: string; note: string };
  id?: string;
  error?: string;
  /** Set where the line gives the OpenCTI platform's form of the id. */
  rule?: string;
}

const vectors: Vector[] = Deno.readTextFileSync(
  `${REPOSITORY_ROOT}tests/fixtures/stix-ids.jsonl`,
).split("\n").filter((line) => line.trim() !== "").map((line) =>
  JSON.parse(line)
);

/** Vectors checked by a test below, to prove that none was forgotten. */
const covered = new Set<Vector>();

/**
 * Kinds the mapper does not make (IPv6 addresses), and relationships
 * between fixed example ids.
 */
const NOT_MADE_BY_THE_MAPPER = new Set([
  "relationship",
  "sco:ipv6-addr",
]);

/** Location types the mapper does not make: it makes only countries. */
const NOT_MADE_LOCATIONS = new Set(["City", "Region", "Position"]);

const BASE_THREAT = {
  id: 910000,
  threatType: "MALWARE",
  label: "Vector - Example",
  executiveSummary: "Reference id vector.",
  firstPublished: 1704067200000,
};

function kindOf(vector: Vector): string {
  const { kind, type } = vector.request;
  return kind === "sco" ? `sco:${type}` : kind;
}

function vectorsOf(...kinds: string[]): Vector[] {
  const found = vectors.filter((vector) => kinds.includes(kindOf(vector)));
  found.forEach((vector) => covered.add(vector));
  return found;
}

function text(vector: Vector, key: string): string {
  const value = vector.request[key];
  if (typeof value !== "string") {
    throw new Error(`${vector.request.note}: ${key} is not a string`);
  }
  return value;
}

const BLOCK_TYPES: Record<string, string> = {
  "url": "URL",
  "domain-name": "Domain Name",
  "ipv4-addr": "IPv4 Address",
  "email-addr": "Email",
};

/** Inputs the mapper rejects as invalid for their type, with the reason. */
const REJECTED_VALUES = new Map([
  ["url", "no scheme, so not an absolute URL"],
  ["001.002.003.004", "leading zeros, which STIX rejects"],
]);

t("author identity", () => {
  // The platform lower-cases and trims names with JavaScript semantics.
  const author = vectorsOf("identity").filter((vector) =>
    String(vector.request.identity_class).toLowerCase() === "organization" &&
    text(vector, "name").toLowerCase().trim() === "cofense threathq"
  );
  assert.ok(author.length >= 4);
  for (const vector of author) {
    assert.is(AUTHOR_ID, vector.id, vector.request.note);
  }
});

t("sectors", () => {
  const sectors = vectorsOf("sector");
  assert.ok(sectors.length >= 3);

  for (const vector of sectors) {
    const name = text(vector, "name");
    const { objects } = mapOk({
      ...BASE_THREAT,
      naicsCodes: [{ label: name }],
    });
    const sector = findOne(
      objects,
      "identity",
      (identity) => identity.identity_class === "class",
    );
    assert.is(sector.id, vector.id, vector.request.note);
  }
});

t("TLP markings", () => {
  const markings = vectorsOf("marking", "stix2_tlp").filter((vector) => {
    const definition = vector.request.definition;
    return vector.request.kind === "stix2_tlp" ||
      (vector.request.definition_type === "TLP" &&
        typeof definition === "string" && definition.startsWith("TLP:"));
  });
  assert.ok(markings.length >= 7);

  for (const vector of markings) {
    const level = vector.request.kind === "stix2_tlp"
      ? text(vector, "tlp")
      : text(vector, "definition").slice(4).toLowerCase();
    const { objects } = mapOk(BASE_THREAT, {
      tlp: level as "clear" | "white" | "green" | "amber" | "red",
    });
    assert.is(findOne(objects, "marking-definition").id, vector.id, level);
  }
});

t("published times hash as the platform does", () => {
  for (const vector of vectorsOf("report")) {
    const name = text(vector, "name");
    const millis = typeof vector.request.published_ms === "number"
      ? vector.request.published_ms
      : Date.parse(String(vector.request.published_dt ?? ""));
    const published = vector.request.published;

    if (Number.isNaN(millis)) {
      // A `published` string as given: the mapper only writes the
      // YYYY-MM-DDTHH:mm:ss.sssZ form, so only such strings can match.
      const written = isoMillis(Date.parse(String(published)));
      assert.is(
        reportId(name, written) === vector.id,
        written === published,
        vector.request.note,
      );
      continue;
    }

    const report = reportOf(mapOk({ ...BASE_THREAT, firstPublished: millis }));
    assert.is(reportId(name, report.published), vector.id, vector.request.note);
  }
});

function mapBlockValue(type: string, value: string) {
  return mapOk({
    ...BASE_THREAT,
    blockSet: [{ blockType: BLOCK_TYPES[type], impact: "Major", data: value }],
  });
}

t("network observables", () => {
  const network = vectorsOf(
    "sco:url",
    "sco:domain-name",
    "sco:ipv4-addr",
    "sco:email-addr",
  );
  assert.ok(network.length >= 20);

  for (const vector of network) {
    const type = text(vector, "type");
    const value = text(vector, "value");
    const mapped = mapBlockValue(type, value);
    const emitted = mapped.objects.filter((object) =>
      object.type === type
    ) as Array<StixObject & { value: string }>;

    if (REJECTED_VALUES.has(value)) {
      assert.is(emitted.length, 0, value);
      assert.is(mapped.problems.length, 1, value);
      continue;
    }

    assert.is(emitted.length, 1, vector.request.note);
    if (value === value.trim()) {
      assert.is(emitted[0].id, vector.id, vector.request.note);
    } else {
      // Blanks and line breaks around a vendor value are trimmed.
      assert.is(emitted[0].value, value.trim(), vector.request.note);
    }
  }
});

t("email subjects kept as given", () => {
  const subjects = vectorsOf("sco:email-message");
  assert.ok(subjects.length >= 8);

  for (const vector of subjects) {
    const subject = text(vector, "subject");
    const { objects } = mapOk({ ...BASE_THREAT, subjectSet: [{ subject }] });
    assert.is(findOne(objects, "email-message").id, vector.id, subject);
  }
});

const HASH_FIELDS: Record<string, string> = {
  "MD5": "md5Hex",
  "SHA-1": "sha1Hex",
  "SHA-256": "sha256Hex",
  "SHA-512": "sha512Hex",
};

function executableOf(vector: Vector): Record<string, unknown> {
  const executable: Record<string, unknown> = { severityLevel: "Major" };
  if (typeof vector.request.name === "string") {
    executable.fileName = vector.request.name;
  }
  const hashes = (vector.request.hashes ?? {}) as Record<string, string>;
  for (const [key, value] of Object.entries(hashes)) {
    executable[HASH_FIELDS[hashAlgorithm(key) ?? key]] = value;
  }
  return executable;
}

t("files, including rejected hashes", () => {
  const files = vectorsOf("sco:file");
  assert.ok(files.length >= 15);

  for (const vector of files) {
    const executable = executableOf(vector);
    const mapped = mapOk({ ...BASE_THREAT, executableSet: [executable] });
    const emitted = ofType(mapped.objects, "file");
    const name = typeof executable.fileName === "string"
      ? executable.fileName
      : "";

    if (vector.error !== undefined) {
      // No object may carry the rejected input as given: invalid hashes
      // are dropped, and a file left without hash and name is skipped.
      const hashes = (vector.request.hashes ?? {}) as Record<string, string>;
      for (const value of Object.values(hashes)) {
        assert.not.ok(JSON.stringify(emitted).includes(`"${value}"`), value);
      }
      assert.is(
        emitted.length,
        name.trim() === "" ? 0 : 1,
        vector.request.note,
      );
      if (emitted.length === 1) assert.not.ok("hashes" in emitted[0]);
      assert.ok(
        emitted.length === 1 || mapped.problems.length > 0,
        vector.request.note,
      );
      continue;
    }

    assert.is(emitted.length, 1, vector.request.note);
    if (name === name.trim()) {
      assert.is(emitted[0].id, vector.id, vector.request.note);
    } else {
      assert.is(emitted[0].name, name.trim(), vector.request.note);
    }
  }
});

function unescapePattern(literal: string): string {
  return literal.replaceAll("\\'", "'").replaceAll("\\\\", "\\");
}

t("indicator patterns", () => {
  const patterns = vectorsOf("indicator");
  assert.ok(patterns.length >= 5);

  for (const vector of patterns) {
    const pattern = text(vector, "pattern").trim();
    const network = /^\[(url|domain-name):value = '(.*)'\]$/.exec(pattern);
    const fileName = /^\[file:name = '(.*)'\]$/.exec(pattern);

    let mapped;
    if (network !== null) {
      mapped = mapBlockValue(network[1], unescapePattern(network[2]));
    } else if (fileName !== null) {
      mapped = mapOk({
        ...BASE_THREAT,
        executableSet: [{ fileName: unescapePattern(fileName[1]) }],
      });
    } else {
      const md5 = /^\[file:hashes\.'MD5' = '([0-9a-f]{32})'\]$/.exec(pattern);
      assert.ok(md5, `no mapping input for pattern ${pattern}`);
      mapped = mapOk({
        ...BASE_THREAT,
        executableSet: [{ fileName: "sample.bin", md5Hex: md5[1] }],
      });
    }

    const indicator = findOne(mapped.objects, "indicator");
    assert.is(indicator.id, vector.id, vector.request.note);
  }
});

t("malware families", () => {
  const families = vectorsOf("malware");
  assert.ok(families.length >= 4);

  for (const vector of families) {
    const { objects } = mapOk({
      ...BASE_THREAT,
      malwareFamilySet: [{ familyName: text(vector, "name") }],
    });
    assert.is(findOne(objects, "malware").id, vector.id, vector.request.note);
  }
});

t("vulnerabilities from CVE ids", () => {
  const cves = vectorsOf("vulnerability");
  assert.ok(cves.length >= 2);

  for (const vector of cves) {
    const { objects } = mapOk({
      ...BASE_THREAT,
      executiveSummary: `Exploits ${text(vector, "name")}.`,
    });
    const vulnerability = findOne(objects, "vulnerability");
    assert.is(vulnerability.id, vector.id, vector.request.note);
    assert.is(vulnerability.name, text(vector, "name").trim().toUpperCase());
  }
});

/** Maps a threat whose one IPv4 block carries this IP lookup. */
function mapLookup(ipDetail: Record<string, unknown>) {
  return mapOk({
    ...BASE_THREAT,
    blockSet: [{
      blockType: "IPv4 Address",
      impact: "Major",
      data: "198.51.100.1",
      ipDetail,
    }],
  });
}

t("countries", () => {
  const countries = vectorsOf("location").filter((vector) =>
    !NOT_MADE_LOCATIONS.has(text(vector, "x_opencti_location_type"))
  );
  assert.ok(countries.length >= 2);

  for (const vector of countries) {
    const { objects } = mapLookup({
      countryIsoCode: "XX",
      countryName: text(vector, "name"),
    });
    assert.is(findOne(objects, "location").id, vector.id, vector.request.note);
  }
});

/** AS numbers the mapper rejects, with the reason. */
const REJECTED_AS_NUMBERS = new Map([[0, "AS 0 is reserved (RFC 7607)"]]);

t("autonomous systems", () => {
  const systems = vectorsOf("sco:autonomous-system");
  assert.ok(systems.length >= 3);

  for (const vector of systems) {
    const number = vector.request.number;
    const { objects, problems } = mapLookup({ asn: number });
    const emitted = ofType(objects, "autonomous-system");

    if (REJECTED_AS_NUMBERS.has(Number(number))) {
      assert.is(emitted.length, 0, vector.request.note);
      assert.is(problems.length, 1, vector.request.note);
      continue;
    }
    assert.is(emitted.length, 1, vector.request.note);
    assert.is(emitted[0].id, vector.id, vector.request.note);
  }
});

t("every vector is checked or not made", () => {
  const unchecked = vectors.filter((vector) =>
    !covered.has(vector) && !NOT_MADE_BY_THE_MAPPER.has(kindOf(vector)) &&
    !(kindOf(vector) === "location" &&
      NOT_MADE_LOCATIONS.has(String(vector.request.x_opencti_location_type)))
  );
  const missing = unchecked.filter((vector) =>
    vector.request.kind !== "identity" && vector.request.kind !== "marking"
  );

  // Identities of other organizations and people, and non-TLP markings,
  // are never made by the mapper; everything else must have been checked.
  assert.equal(missing.map((vector) => vector.request.note), []);
});

t.run();
