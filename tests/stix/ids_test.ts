import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  canonicalJson,
  identityId,
  indicatorId,
  isoMillis,
  locationId,
  malwareId,
  markingId,
  relationshipId,
  reportId,
  scoId,
  STIX_NAMESPACE,
  uuidv5,
  validHash,
  vulnerabilityId,
} from "../../src/stix/ids.ts";
import { type HashAlgorithm, hashAlgorithm } from "../../src/stix/hashes.ts";

const t = suite("stix: ids");

// uvu calls a function `expects` as a predicate on the thrown error.
const isTypeError = (error: unknown) => error instanceof TypeError;
const isRangeError = (error: unknown) => error instanceof RangeError;

interface Vector {
  request: Record<string, unknown> & { kind: string; note: string };
  id?: string;
  error?: string;
  uuid5_input?: { namespace: string; name: string };
  rule?: string;
}

const vectorsUrl = new URL("../fixtures/stix-ids.jsonl", import.meta.url);
const vectors: Vector[] = Deno.readTextFileSync(vectorsUrl)
  .split("\n")
  .filter((line) => line.trim() !== "")
  .map((line) => JSON.parse(line));

function text(request: Vector["request"], key: string): string {
  const value = request[key];
  if (typeof value !== "string") {
    throw new Error(`vector ${request.note}: ${key} is not a string`);
  }
  return value;
}

function optionalTime(
  request: Vector["request"],
  key: string,
): string | undefined {
  const millis = request[`${key}_ms`];
  if (typeof millis === "number") return isoMillis(millis);
  const value = request[key];
  return typeof value === "string" ? value : undefined;
}

/** Converts whichever `published` input a line gives to the hashed form. */
function published(request: Vector["request"]): string {
  if (typeof request.published_ms === "number") {
    return isoMillis(request.published_ms);
  }
  if (typeof request.published_dt === "string") {
    return new Date(request.published_dt).toISOString();
  }
  return text(request, "published");
}

function observableProperties(
  request: Vector["request"],
): Record<string, unknown> {
  const { kind: _kind, type: _type, note: _note, ...properties } = request;
  return properties;
}

function idOf(request: Vector["request"]): string {
  switch (request.kind) {
    case "identity":
      return identityId(text(request, "name"), text(request, "identity_class"));
    case "sector":
      return identityId(text(request, "name"), "class");
    case "marking":
      return markingId(
        text(request, "definition_type"),
        text(request, "definition"),
      );
    case "stix2_tlp":
      return markingId("TLP", `TLP:${text(request, "tlp").toUpperCase()}`);
    case "report":
      return reportId(text(request, "name"), published(request));
    case "relationship":
      return relationshipId(
        text(request, "relationship_type"),
        text(request, "source_ref"),
        text(request, "target_ref"),
        optionalTime(request, "start_time"),
        optionalTime(request, "stop_time"),
      );
    case "malware":
      return malwareId(text(request, "name"));
    case "vulnerability":
      return vulnerabilityId(text(request, "name"));
    case "indicator":
      return indicatorId(text(request, "pattern"));
    case "location":
      return locationId(
        text(request, "name"),
        text(request, "x_opencti_location_type"),
        {
          latitude: request.latitude as number | undefined,
          longitude: request.longitude as number | undefined,
        },
      );
    case "sco":
      return scoId(text(request, "type"), observableProperties(request));
    default:
      throw new Error(`unknown vector kind ${request.kind}`);
  }
}

t("vector file has every kind", () => {
  const kinds = new Set(vectors.map((vector) => vector.request.kind));

  assert.ok(vectors.length >= 100, `only ${vectors.length} vectors`);
  for (
    const kind of [
      "identity",
      "sector",
      "marking",
      "stix2_tlp",
      "report",
      "relationship",
      "malware",
      "vulnerability",
      "indicator",
      "location",
      "sco",
    ]
  ) {
    assert.ok(kinds.has(kind), `no vector of kind ${kind}`);
  }
});

for (const [index, vector] of vectors.entries()) {
  const line = index + 1;
  const label = `line ${line} (${vector.request.note})`;

  if (vector.id !== undefined) {
    t(`vector line ${line} id`, () => {
      assert.is(idOf(vector.request), vector.id, label);
    });
  }

  if (vector.uuid5_input !== undefined) {
    const { namespace, name } = vector.uuid5_input;

    t(`vector line ${line} uuid5 input`, () => {
      assert.is(namespace, STIX_NAMESPACE, label);
      assert.is(canonicalJson(JSON.parse(name)), name, label);
      assert.is(
        `${vector.id?.split("--")[0]}--${uuidv5(namespace, name)}`,
        vector.id,
        label,
      );
    });
  }

  if (vector.error !== undefined) {
    t(`vector line ${line} rejected`, () => {
      assert.throws(() => idOf(vector.request), isTypeError, label);
    });
  }
}

t("error vectors have invalid hashes", () => {
  const hashErrors = vectors.filter((vector) =>
    vector.error?.includes("is not a valid")
  );
  assert.ok(hashErrors.length > 0, "no invalid-hash vector");

  for (const vector of hashErrors) {
    const hashes = vector.request.hashes as Record<string, string>;
    for (const [key, value] of Object.entries(hashes)) {
      const algorithm = hashAlgorithm(key);
      assert.ok(algorithm, `${key} is a known algorithm`);
      assert.not.ok(
        validHash(algorithm as HashAlgorithm, value),
        `${key} ${value} rejected`,
      );
    }
  }
});

t("file errors name the value", () => {
  assert.throws(
    () => scoId("file", { name: "a.zip", hashes: { MD5: "md5" } }),
    (error: Error) =>
      error instanceof TypeError && error.message.includes('"md5"'),
  );
  assert.throws(
    () => scoId("file", { name: "a.exe", hashes: {} }),
    (error: Error) =>
      error instanceof TypeError && error.message.includes("{}"),
  );
  assert.throws(
    () => scoId("file", { name: null }),
    (error: Error) =>
      error instanceof TypeError && error.message.includes('{"name":null}'),
  );
});

// Worked examples of the OpenCTI id rules, several of them published in
// pycti's and the platform's own unit tests.
t("report worked examples", () => {
  assert.is(
    reportId("Report", "2022-11-25T19:00:05.000Z"),
    "report--761c6602-975f-5e5e-b220-7a2d41f33ce4",
  );
  assert.is(
    reportId("my report", "2024-01-15T10:30:00.000Z"),
    "report--feeea4cd-cd4c-5e74-9b0d-b525a75af2b3",
  );
  assert.is(
    reportId("my report", "2024-01-15T10:30:00Z"),
    "report--82c3dd95-2c3b-5644-bc0e-f34ece161540",
  );
});

t("identity worked examples", () => {
  assert.is(
    identityId("julien", "Individual"),
    "identity--d969b177-497f-598d-8428-b128c8f5f819",
  );
  assert.is(
    identityId("Filigran", "organization"),
    "identity--8cb00c79-ab20-5ed4-b37d-337241b96a29",
  );
  assert.is(
    identityId("Example Corp", "organization"),
    "identity--69f1df30-eb2f-5845-88e0-64e2d05ab72e",
  );
});

t("malware and vulnerability worked examples", () => {
  assert.is(
    malwareId("malware"),
    "malware--92ddf766-b27c-5159-8f46-27002bba2f04",
  );
  assert.is(
    malwareId("SnowFlake"),
    "malware--1bc77052-c136-5258-b95d-fc8117fba3fd",
  );
  assert.is(
    vulnerabilityId("vulnerability"),
    "vulnerability--2c690168-aec3-57f1-8295-adf53f4dc3da",
  );
  assert.is(
    vulnerabilityId("CVE-2019-12345"),
    "vulnerability--f140924c-f52e-5b3a-b8bb-37a97cee7063",
  );
});

t("indicator worked examples", () => {
  assert.is(
    indicatorId("[domain-name:value = 'shortsvelventysjo.shop']"),
    "indicator--e3a64916-7775-5262-9246-9d3783cfdfa6",
  );
  assert.is(
    indicatorId("[ipv4-addr:value = '1.2.3.4']"),
    "indicator--274128a4-2ad4-50b5-ae7b-b0dea1fa9861",
  );
});

t("relationship worked examples", () => {
  assert.is(
    relationshipId("based-on", "from_id", "to_id"),
    "relationship--0b11fa67-da01-5d34-9864-67d4d71c3740",
  );
  assert.is(
    relationshipId(
      "based-on",
      "from_id",
      "to_id",
      "2022-11-25T19:00:05.000Z",
      "2022-11-26T19:00:05.000Z",
    ),
    "relationship--a7778a7d-a743-5193-9912-89f88f9ed0b4",
  );
  assert.is(
    relationshipId(
      "based-on",
      "from_id",
      "to_id",
      undefined,
      "2022-11-26T19:00:05.000Z",
    ),
    "relationship--0b11fa67-da01-5d34-9864-67d4d71c3740",
  );
});

t("location worked examples", () => {
  assert.is(
    locationId("Lyon", "City"),
    "location--da430873-42c8-57ca-b08b-a797558c6cbd",
  );
  assert.is(
    locationId("Lyon", "Administrative-Area"),
    "location--947f7379-a13d-5ad2-bd57-01b1c482623b",
  );
  assert.is(
    locationId("", "Position", { latitude: 5.12, longitude: 5.12 }),
    "location--57acef55-747a-55ef-9c49-06ca85f8d749",
  );
  assert.is(
    locationId("France", "Country"),
    "location--b8d0549f-de06-5ebd-a6e9-d31a581dba5d",
  );
});

t("marking worked example", () => {
  assert.is(
    markingId("PAP", "PAP:GREEN"),
    "marking-definition--89484dde-e3d2-547f-a6c6-d14824429eb1",
  );
  assert.is(
    markingId("TLP", "TLP:AMBER+STRICT"),
    "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37",
  );
});

t("observable worked examples", () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    [
      "ipv4-addr",
      { value: "1.2.3.4" },
      "ipv4-addr--0198f97b-e65d-5025-87e5-58bc39d4bdb4",
    ],
    [
      "ipv4-addr",
      { value: "8.8.8.8" },
      "ipv4-addr--2f689bf9-0ff2-545f-aa61-e495eb8cecc7",
    ],
    [
      "domain-name",
      { value: "example.com" },
      "domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7",
    ],
    [
      "domain-name",
      { value: "Example.com" },
      "domain-name--83378459-ba74-5cf0-8260-cc46e15db9e0",
    ],
    [
      "file",
      { hashes: { MD5: "025ad219ece1125a8f5a0e74e32676cb" } },
      "file--cd03138e-eb70-5409-b5df-2f53bee7a1e1",
    ],
    [
      "file",
      { hashes: { "SHA-1": "c1750bee9c1f7b5dd6f025b645ab6eba5df94175" } },
      "file--0c28767c-5f72-5036-8cc5-21c055c2b9e9",
    ],
    [
      "file",
      { hashes: { MD5: "025ad219ece1125a8f5a0e74e32676cb" }, name: "test.exe" },
      "file--ae8dc293-f7c4-5ac2-a0d1-ff4c23e2b9ab",
    ],
    [
      "url",
      { value: "https://example.com/" },
      "url--be22e93a-5e33-5678-b19f-8b4ea06df0bd",
    ],
    [
      "email-addr",
      { value: "john@example.com" },
      "email-addr--7165e2a9-671f-585d-b1e1-ca59c671d934",
    ],
    [
      "autonomous-system",
      { number: 15169 },
      "autonomous-system--7afc7bdf-d070-5add-90ff-f93503b1654d",
    ],
    [
      "email-message",
      { subject: "Hello" },
      "email-message--5a02a207-7683-56d8-8397-d8b22faeccb5",
    ],
    [
      "email-message",
      {
        subject: "Hello",
        from_ref: "email-addr--d4ef7e1f-086d-5ff4-bce4-312ddc3eae76",
      },
      "email-message--9e681b86-e4b5-537f-a5e3-bb355ed8c3bd",
    ],
  ];

  for (const [type, properties, expected] of cases) {
    assert.is(scoId(type, properties), expected, JSON.stringify(properties));
  }
});

t("observable without id properties is random", () => {
  const first = scoId("process", { pid: 4 });
  const second = scoId("email-message", { is_multipart: false });

  assert.match(first, /^process--[0-9a-f-]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-/);
  assert.match(second, /^email-message--[0-9a-f-]{8}-[0-9a-f]{4}-4/);
  assert.is.not(scoId("process", { pid: 4 }), first);
});

t("observable id rejects unknown type", () => {
  assert.throws(() => scoId("ipv4", { value: "1.2.3.4" }), /"ipv4"/);
});

t("autonomous-system number must be integer", () => {
  assert.throws(() => scoId("autonomous-system", { number: 1.5 }), isTypeError);
  assert.throws(
    () => scoId("autonomous-system", { number: "AS15169" }),
    /"AS15169"/,
  );
});

t("uuidv5 matches RFC namespaces", () => {
  // Values from Python's uuid.uuid5.
  assert.is(
    uuidv5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "python.org"),
    "886313e1-3b8a-5372-9b90-0c9aee199e5d",
  );
  assert.is(
    uuidv5("6ba7b811-9dad-11d1-80b4-00c04fd430c8", "https://example.com/é"),
    "20ecd233-a9e7-5067-a96f-fd6600ca3fda",
  );
  assert.throws(() => uuidv5("not-a-uuid", "x"), /"not-a-uuid"/);
});

t("canonicalJson sorts and escapes", () => {
  assert.is(
    canonicalJson({ b: 1, a: [true, null, "x"] }),
    '{"a":[true,null,"x"],"b":1}',
  );
  assert.is(canonicalJson({ z: { y: 1, x: 2 } }), '{"z":{"x":2,"y":1}}');
  assert.is(canonicalJson({ a: undefined, b: 2 }), '{"b":2}');
  assert.is(canonicalJson("a/b é 💶"), '"a/b é 💶"');
  assert.is(canonicalJson('\u001f\n\t"\\'), '"\\u001f\\n\\t\\"\\\\"');
  // Keys sort by UTF-16 code units: U+20AC sorts before U+1F600's surrogates.
  assert.is(canonicalJson({ "😀": 1, "€": 2 }), '{"€":2,"😀":1}');
});

t("canonicalJson number forms", () => {
  assert.is(canonicalJson(5.12), "5.12");
  assert.is(canonicalJson(15169), "15169");
  assert.is(canonicalJson(1e21), "1e+21");
  assert.is(canonicalJson(-0), "0");
  assert.is(canonicalJson(0.000001), "0.000001");
  assert.is(canonicalJson(1e-7), "1e-7");
});

t("canonicalJson rejects non-JSON values", () => {
  assert.throws(() => canonicalJson(Number.NaN), isTypeError);
  assert.throws(() => canonicalJson(Infinity), isTypeError);
  assert.throws(() => canonicalJson([undefined]), isTypeError);
  assert.throws(() => canonicalJson(10n), isTypeError);
});

t("isoMillis formats milliseconds", () => {
  assert.is(isoMillis(1651075409064), "2022-04-27T16:03:29.064Z");
  assert.is(isoMillis(1657112813000), "2022-07-06T13:06:53.000Z");
  assert.is(isoMillis(0), "1970-01-01T00:00:00.000Z");
  assert.throws(() => isoMillis(Number.NaN), isRangeError);
  assert.throws(() => isoMillis(8.64e15 + 1), isRangeError);
});

t("validHash checks length and digits", () => {
  assert.ok(validHash("MD5", "025AD219ECE1125A8F5A0E74E32676CB"));
  assert.ok(validHash("SHA-1", "da39a3ee5e6b4b0d3255bfef95601890afd80709"));
  assert.not.ok(validHash("MD5", "025ad219ece1125a8f5a0e74e32676c"));
  assert.not.ok(validHash("MD5", "025ad219ece1125a8f5a0e74e32676cg"));
  assert.not.ok(validHash("SHA-256", "025ad219ece1125a8f5a0e74e32676cb"));
  assert.not.ok(validHash("SHA-512", "256"));
  assert.not.ok(validHash("MD5", " 025ad219ece1125a8f5a0e74e32676cb"));
  assert.not.ok(validHash("MD5", 42));
});

t.run();
