import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { z } from "zod";
import {
  type AutonomousSystem,
  autonomousSystemSchema,
  type Bundle,
  bundleSchema,
  type DomainName,
  domainNameSchema,
  type EmailAddr,
  emailAddrSchema,
  type EmailMessage,
  emailMessageSchema,
  type File,
  fileSchema,
  type Identity,
  identitySchema,
  type Indicator,
  indicatorSchema,
  type Ipv4Addr,
  ipv4AddrSchema,
  type Location,
  locationSchema,
  type Malware,
  malwareSchema,
  type MarkingDefinition,
  markingDefinitionSchema,
  type Relationship,
  relationshipSchema,
  type Report,
  reportSchema,
  type StixObject,
  stixObjectSchema,
  type Url,
  urlSchema,
  type Vulnerability,
  vulnerabilitySchema,
} from "../../src/stix/types.ts";
import {
  identityId,
  indicatorId,
  locationId,
  malwareId,
  relationshipId,
  reportId,
  scoId,
  vulnerabilityId,
} from "../../src/stix/ids.ts";

const t = suite("stix: types");

const CREATED = "2022-04-27T16:03:29.064Z";
const GREEN = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da";
const AUTHOR = identityId("Cofense ThreatHQ", "organization");
const MD5 = "8e1a7d8b88096693a52173618b7b709e";
const SHA256 =
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

const identity: Identity = {
  type: "identity",
  spec_version: "2.1",
  id: AUTHOR,
  created: CREATED,
  modified: CREATED,
  name: "Cofense ThreatHQ",
  identity_class: "organization",
};

const marking: MarkingDefinition = {
  type: "marking-definition",
  spec_version: "2.1",
  id: GREEN,
  created: "2017-01-20T00:00:00.000Z",
  definition_type: "tlp",
  name: "TLP:GREEN",
  definition: { tlp: "green" },
};

const url: Url = {
  type: "url",
  spec_version: "2.1",
  id: scoId("url", { value: "http://abc.dummy.com/docs/dummy/doc" }),
  value: "http://abc.dummy.com/docs/dummy/doc",
  object_marking_refs: [GREEN],
  x_opencti_created_by_ref: AUTHOR,
  x_opencti_labels: ["phishing"],
  x_opencti_description: "Payload URL",
  x_opencti_score: 80,
  x_opencti_external_references: [
    { source_name: "Cofense ThreatHQ", url: "https://example.com/t/1" },
  ],
};

const domainName: DomainName = {
  type: "domain-name",
  spec_version: "2.1",
  id: scoId("domain-name", { value: "abc.dummy.com" }),
  value: "abc.dummy.com",
};

const ipv4Addr: Ipv4Addr = {
  type: "ipv4-addr",
  spec_version: "2.1",
  id: scoId("ipv4-addr", { value: "192.0.2.10" }),
  value: "192.0.2.10",
};

const emailAddr: EmailAddr = {
  type: "email-addr",
  spec_version: "2.1",
  id: scoId("email-addr", { value: "sender@example.com" }),
  value: "sender@example.com",
};

const emailMessage: EmailMessage = {
  type: "email-message",
  spec_version: "2.1",
  id: scoId("email-message", { subject: "PURCHASE ORDER" }),
  is_multipart: false,
  subject: "PURCHASE ORDER",
  from_ref: emailAddr.id,
};

const file: File = {
  type: "file",
  spec_version: "2.1",
  id: scoId("file", { hashes: { MD5, "SHA-256": SHA256 }, name: "a.exe" }),
  hashes: { MD5, "SHA-256": SHA256 },
  name: "a.exe",
  size: 1024,
};

const autonomousSystem: AutonomousSystem = {
  type: "autonomous-system",
  spec_version: "2.1",
  id: scoId("autonomous-system", { number: 15169 }),
  number: 15169,
  name: "GOOGLE",
};

const pattern = "[url:value = 'http://abc.dummy.com/docs/dummy/doc']";
const indicator: Indicator = {
  type: "indicator",
  spec_version: "2.1",
  id: indicatorId(pattern),
  created: CREATED,
  modified: CREATED,
  created_by_ref: AUTHOR,
  name: "http://abc.dummy.com/docs/dummy/doc",
  pattern,
  pattern_type: "stix",
  valid_from: CREATED,
  x_opencti_main_observable_type: "Url",
  x_opencti_score: 80,
  object_marking_refs: [GREEN],
};

const malware: Malware = {
  type: "malware",
  spec_version: "2.1",
  id: malwareId("FormBook"),
  created: CREATED,
  modified: CREATED,
  name: "FormBook",
  is_family: true,
};

const relationship: Relationship = {
  type: "relationship",
  spec_version: "2.1",
  id: relationshipId("based-on", indicator.id, url.id),
  created: CREATED,
  modified: CREATED,
  relationship_type: "based-on",
  source_ref: indicator.id,
  target_ref: url.id,
};

const location: Location = {
  type: "location",
  spec_version: "2.1",
  id: locationId("France", "Country"),
  created: CREATED,
  modified: CREATED,
  name: "France",
  country: "France",
  x_opencti_location_type: "Country",
};

const vulnerability: Vulnerability = {
  type: "vulnerability",
  spec_version: "2.1",
  id: vulnerabilityId("CVE-2021-44228"),
  created: CREATED,
  modified: CREATED,
  name: "CVE-2021-44228",
};

const report: Report = {
  type: "report",
  spec_version: "2.1",
  id: reportId("247570 - Quotation - FormBook", CREATED),
  created: CREATED,
  modified: CREATED,
  name: "247570 - Quotation - FormBook",
  published: CREATED,
  report_types: ["threat-report"],
  object_refs: [url.id, indicator.id, malware.id],
  created_by_ref: AUTHOR,
  object_marking_refs: [GREEN],
  external_references: [
    { source_name: "Cofense ThreatHQ", external_id: "247570" },
  ],
  x_opencti_files: [
    {
      name: "Report-247570.pdf",
      data: btoa("%PDF-1.4"),
      mime_type: "application/pdf",
      object_marking_refs: [GREEN],
      no_trigger_import: true,
    },
  ],
};

const samples: Array<[z.ZodType, StixObject]> = [
  [identitySchema, identity],
  [markingDefinitionSchema, marking],
  [reportSchema, report],
  [indicatorSchema, indicator],
  [malwareSchema, malware],
  [relationshipSchema, relationship],
  [locationSchema, location],
  [vulnerabilitySchema, vulnerability],
  [urlSchema, url],
  [domainNameSchema, domainName],
  [ipv4AddrSchema, ipv4Addr],
  [emailAddrSchema, emailAddr],
  [emailMessageSchema, emailMessage],
  [fileSchema, file],
  [autonomousSystemSchema, autonomousSystem],
];

/** Returns the distinct issue paths of a failed parse, [] on success. */
function issuePaths(schema: z.ZodType, value: unknown): string[] {
  const result = schema.safeParse(value);
  if (result.success) return [];

  const paths = result.error.issues.map((issue) => issue.path.join("."));
  return [...new Set(paths)];
}

function issueMessages(schema: z.ZodType, value: unknown): string {
  const result = schema.safeParse(value);
  if (result.success) return "";
  return result.error.issues.map((issue) => issue.message).join("; ");
}

t("valid samples parse", () => {
  for (const [schema, sample] of samples) {
    assert.equal(issuePaths(schema, sample), [], `${sample.type}`);
    assert.equal(issuePaths(stixObjectSchema, sample), [], `${sample.type}`);
  }
});

t("every type has a sample", () => {
  const types = new Set(samples.map(([, sample]) => sample.type));
  assert.is(types.size, 15);
});

t("spec_version must be 2.1", () => {
  for (const [schema, sample] of samples) {
    const changed = { ...sample, spec_version: "2.0" };
    assert.equal(issuePaths(schema, changed), ["spec_version"], sample.type);
  }
});

t("id prefix must match type", () => {
  for (const [schema, sample] of samples) {
    const other = sample.type === "url" ? "domain-name" : "url";
    const changed = {
      ...sample,
      id: sample.id.replace(/^[^-]+(-[^-]+)*--/, `${other}--`),
    };
    assert.equal(issuePaths(schema, changed), ["id"], sample.type);
  }
});

t("id must be a lower-case uuid", () => {
  const upper = {
    ...malware,
    id: malware.id.toUpperCase().replace("MALWARE", "malware"),
  };
  const short = { ...malware, id: "malware--1234" };

  assert.equal(issuePaths(malwareSchema, upper), ["id"]);
  assert.equal(issuePaths(malwareSchema, short), ["id"]);
});

t("unknown properties are rejected", () => {
  for (const [schema, sample] of samples) {
    const changed = { ...sample, x_opencti_created_by: AUTHOR };
    assert.equal(issuePaths(schema, changed), [""], sample.type);
  }
});

t("union rejects unknown type", () => {
  assert.equal(issuePaths(stixObjectSchema, { ...malware, type: "tool" }), [
    "type",
  ]);
});

t("timestamps need Z and a real date", () => {
  const cases = [
    "2022-04-27T16:03:29.064+00:00",
    "2022-04-27 16:03:29Z",
    "2022-02-30T00:00:00Z",
    "2022-04-27T24:00:00Z",
    "2022-04-27",
    "1651075409064",
  ];
  for (const created of cases) {
    assert.equal(
      issuePaths(malwareSchema, { ...malware, created, modified: created }),
      [
        "created",
        "modified",
      ],
      created,
    );
  }

  const fine = ["2022-04-27T16:03:29Z", "2022-04-27T16:03:29.123456Z"];
  for (const created of fine) {
    assert.equal(
      issuePaths(malwareSchema, { ...malware, created, modified: created }),
      [],
      created,
    );
  }
});

t("modified before created is rejected", () => {
  const changed = { ...report, modified: "2022-04-27T16:03:29.063Z" };
  const sameInstant = { ...report, modified: "2022-04-27T16:03:29.064000Z" };
  const subMillisecond = {
    ...report,
    created: "2022-04-27T16:03:29.0641Z",
    modified: "2022-04-27T16:03:29.064Z",
  };

  assert.equal(issuePaths(reportSchema, changed), ["modified"]);
  assert.equal(issuePaths(reportSchema, sameInstant), []);
  assert.equal(issuePaths(reportSchema, subMillisecond), ["modified"]);
});

t("required properties per type", () => {
  const cases: Array<[z.ZodType, StixObject, string]> = [
    [identitySchema, identity, "name"],
    [reportSchema, report, "name"],
    [reportSchema, report, "published"],
    [reportSchema, report, "object_refs"],
    [indicatorSchema, indicator, "pattern"],
    [indicatorSchema, indicator, "pattern_type"],
    [indicatorSchema, indicator, "valid_from"],
    [malwareSchema, malware, "is_family"],
    [malwareSchema, malware, "name"],
    [relationshipSchema, relationship, "relationship_type"],
    [relationshipSchema, relationship, "source_ref"],
    [relationshipSchema, relationship, "target_ref"],
    [vulnerabilitySchema, vulnerability, "name"],
    [markingDefinitionSchema, marking, "definition"],
    [markingDefinitionSchema, marking, "created"],
    [urlSchema, url, "value"],
    [autonomousSystemSchema, autonomousSystem, "number"],
    [emailMessageSchema, emailMessage, "is_multipart"],
    [identitySchema, identity, "created"],
    [identitySchema, identity, "modified"],
  ];

  for (const [schema, sample, property] of cases) {
    const changed: Record<string, unknown> = { ...sample };
    delete changed[property];
    assert.equal(
      issuePaths(schema, changed),
      [property],
      `${sample.type}.${property}`,
    );
  }
});

t("report needs object_refs entries", () => {
  assert.equal(issuePaths(reportSchema, { ...report, object_refs: [] }), [
    "object_refs",
  ]);
});

t("relationship_type is lower-case hyphenated", () => {
  for (const type of ["Related-To", "based_on", "based on", "-x", "x-", ""]) {
    const changed = { ...relationship, relationship_type: type };
    assert.equal(
      issuePaths(relationshipSchema, changed),
      ["relationship_type"],
      type,
    );
  }
  for (const type of ["indicates", "based-on", "related-to", "x-y-z2"]) {
    const changed = { ...relationship, relationship_type: type };
    assert.equal(issuePaths(relationshipSchema, changed), [], type);
  }
});

t("relationship stop after start", () => {
  const start = "2022-07-06T13:06:53.922Z";
  const equal = { ...relationship, start_time: start, stop_time: start };
  const before = {
    ...relationship,
    start_time: start,
    stop_time: "2022-07-06T13:06:53.921Z",
  };
  const after = {
    ...relationship,
    start_time: start,
    stop_time: "2022-07-07T13:06:53.922Z",
  };

  assert.equal(issuePaths(relationshipSchema, equal), ["stop_time"]);
  assert.equal(issuePaths(relationshipSchema, before), ["stop_time"]);
  assert.equal(issuePaths(relationshipSchema, after), []);
});

t("indicator valid_until after valid_from", () => {
  const equal = { ...indicator, valid_until: indicator.valid_from };
  const later = { ...indicator, valid_until: "2023-04-27T16:03:29.064Z" };

  assert.equal(issuePaths(indicatorSchema, equal), ["valid_until"]);
  assert.equal(issuePaths(indicatorSchema, later), []);
});

t("observables reject SDO-only properties", () => {
  const properties = [
    "created_by_ref",
    "labels",
    "description",
    "external_references",
  ];

  for (const property of properties) {
    const changed = { ...url, [property]: property === "labels" ? ["x"] : "x" };
    assert.equal(issuePaths(urlSchema, changed), [property], property);
    assert.match(issueMessages(urlSchema, changed), `x_opencti_${property}`);
  }
});

t("x_opencti_score is 0 to 100", () => {
  for (const score of [-1, 101, 50.5]) {
    assert.equal(issuePaths(urlSchema, { ...url, x_opencti_score: score }), [
      "x_opencti_score",
    ], String(score));
  }
  assert.equal(issuePaths(urlSchema, { ...url, x_opencti_score: 0 }), []);
  assert.equal(issuePaths(urlSchema, { ...url, x_opencti_score: 100 }), []);
});

t("created_by_ref must be an identity", () => {
  const changed = { ...indicator, created_by_ref: malware.id };
  const sco = { ...url, x_opencti_created_by_ref: malware.id };

  assert.equal(issuePaths(indicatorSchema, changed), ["created_by_ref"]);
  assert.equal(issuePaths(urlSchema, sco), ["x_opencti_created_by_ref"]);
});

t("report files need the OpenCTI shape", () => {
  const [pdf] = report.x_opencti_files!;
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ ...pdf, data: "not base64!" }, "x_opencti_files.0.data"],
    [{ ...pdf, data: "QUJD\nREVG" }, "x_opencti_files.0.data"],
    [{ ...pdf, data: "QUJ" }, "x_opencti_files.0.data"],
    [{ ...pdf, mime_type: undefined }, "x_opencti_files.0.mime_type"],
    [
      { ...pdf, no_trigger_import: "false" },
      "x_opencti_files.0.no_trigger_import",
    ],
    [
      { ...pdf, object_marking_refs: ["TLP:GREEN"] },
      "x_opencti_files.0.object_marking_refs.0",
    ],
    [{ ...pdf, uri: "/storage/x.pdf" }, "x_opencti_files.0"],
  ];

  for (const [entry, path] of cases) {
    const changed = { ...report, x_opencti_files: [entry] };
    assert.equal(issuePaths(reportSchema, changed), [path], path);
  }
});

t("file hashes valid per algorithm", () => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ MD5: "md5" }, "hashes.MD5"],
    [{ "SHA-256": MD5 }, "hashes.SHA-256"],
    [{ "SHA-1": "zz39a3ee5e6b4b0d3255bfef95601890afd80709" }, "hashes.SHA-1"],
    [{ md5: MD5 }, "hashes.md5"],
    [{ SHA256: SHA256 }, "hashes.SHA256"],
    [{}, "hashes"],
  ];

  for (const [hashes, path] of cases) {
    assert.equal(issuePaths(fileSchema, { ...file, hashes }), [path], path);
  }
  assert.equal(
    issuePaths(fileSchema, { ...file, hashes: { "x-custom": "abc" } }),
    [],
  );
});

t("file needs hashes or name", () => {
  const { hashes: _hashes, name: _name, ...bare } = file;

  assert.equal(issuePaths(fileSchema, bare), ["hashes"]);
  assert.equal(issuePaths(fileSchema, { ...bare, name: "a.exe" }), []);
});

t("observable values are checked", () => {
  const cases: Array<[z.ZodType, StixObject, unknown]> = [
    [ipv4AddrSchema, ipv4Addr, "256.1.1.1"],
    [ipv4AddrSchema, ipv4Addr, "001.002.003.004"],
    [ipv4AddrSchema, ipv4Addr, "1.2.3.4 "],
    [ipv4AddrSchema, ipv4Addr, "1.2.3.4/33"],
    [domainNameSchema, domainName, "abc dummy.com"],
    [domainNameSchema, domainName, "http://abc.com"],
    [domainNameSchema, domainName, ""],
    [urlSchema, url, "url"],
    [urlSchema, url, "http://x.com/\r\n"],
    [urlSchema, url, "http://example.com "],
    [emailAddrSchema, emailAddr, "no-at-sign"],
    [emailAddrSchema, emailAddr, "a@b@c"],
  ];
  for (const [schema, sample, value] of cases) {
    assert.equal(
      issuePaths(schema, { ...sample, value }),
      ["value"],
      String(value),
    );
  }

  const fine: Array<[z.ZodType, StixObject, unknown]> = [
    [ipv4AddrSchema, ipv4Addr, "10.0.0.0/8"],
    [domainNameSchema, domainName, "例え.テスト"],
    [urlSchema, url, "http://x.com/?q=ü&r=☃"],
    [emailAddrSchema, emailAddr, "üser@exämple.de"],
  ];
  for (const [schema, sample, value] of fine) {
    assert.equal(issuePaths(schema, { ...sample, value }), [], String(value));
  }
});

t("autonomous-system number is an integer", () => {
  for (const number of [-1, 1.5, "15169", 4294967296]) {
    const changed = { ...autonomousSystem, number };
    assert.equal(
      issuePaths(autonomousSystemSchema, changed),
      ["number"],
      String(number),
    );
  }
});

t("email body matches is_multipart", () => {
  const multipartBody = { ...emailMessage, is_multipart: true, body: "x" };
  const singleParts = { ...emailMessage, body_multipart: [{ body: "x" }] };

  assert.equal(issuePaths(emailMessageSchema, multipartBody), ["body"]);
  assert.equal(issuePaths(emailMessageSchema, singleParts), ["body_multipart"]);
  assert.equal(
    issuePaths(emailMessageSchema, { ...emailMessage, from_ref: url.id }),
    [
      "from_ref",
    ],
  );
});

t("tlp marking definitions are checked", () => {
  const wrongLevel = { ...marking, definition: { tlp: "amber+strict" } };
  const wrongId = { ...marking, definition: { tlp: "red" } };
  const statement = {
    ...marking,
    id: "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37",
    definition_type: "statement",
    definition: { statement: "custom" },
    x_opencti_definition_type: "TLP",
    x_opencti_definition: "TLP:AMBER+STRICT",
  };
  const emptyStatement = { ...statement, definition: { statement: "" } };
  const withModified = { ...marking, modified: CREATED };

  assert.equal(issuePaths(markingDefinitionSchema, wrongLevel), ["definition"]);
  assert.equal(issuePaths(markingDefinitionSchema, wrongId), ["id"]);
  assert.equal(issuePaths(markingDefinitionSchema, statement), []);
  assert.equal(issuePaths(markingDefinitionSchema, emptyStatement), [
    "definition",
  ]);
  assert.equal(issuePaths(markingDefinitionSchema, withModified), [""]);
});

t("location needs a place", () => {
  const { country: _country, ...unplaced } = location;
  const position = {
    ...unplaced,
    id: locationId("HQ", "Position", { latitude: 48.8566, longitude: 2.3522 }),
    latitude: 48.8566,
    longitude: 2.3522,
    x_opencti_location_type: "Position",
  };

  assert.equal(issuePaths(locationSchema, unplaced), ["country"]);
  assert.equal(
    issuePaths(locationSchema, { ...unplaced, region: "Europe" }),
    [],
  );
  assert.equal(issuePaths(locationSchema, position), []);
  assert.equal(
    issuePaths(locationSchema, { ...position, longitude: undefined }),
    [
      "longitude",
      "country",
    ],
  );
  assert.equal(issuePaths(locationSchema, { ...position, latitude: 91 }), [
    "latitude",
  ]);
  assert.equal(
    issuePaths(locationSchema, {
      ...location,
      x_opencti_location_type: "Town",
    }),
    [
      "x_opencti_location_type",
    ],
  );
});

t("nb_deps and OpenCTI extras allowed", () => {
  const splitReport = {
    ...report,
    nb_deps: 7,
    x_opencti_stix_ids: [report.id],
  };
  const splitUrl = { ...url, nb_deps: 3, x_opencti_create_indicator: true };

  assert.equal(issuePaths(reportSchema, splitReport), []);
  assert.equal(issuePaths(urlSchema, splitUrl), []);
  assert.equal(issuePaths(urlSchema, { ...url, nb_deps: "3" }), ["nb_deps"]);
});

t("bundle holds any emitted object", () => {
  const bundle: Bundle = {
    type: "bundle",
    id: "bundle--0b9a6f3c-9a4a-4d8e-8f56-5d3b0a6c2e11",
    spec_version: "2.1",
    objects: samples.map(([, sample]) => sample),
  };

  assert.equal(issuePaths(bundleSchema, bundle), []);
  assert.equal(
    issuePaths(bundleSchema, { ...bundle, spec_version: undefined }),
    [],
  );
  assert.equal(issuePaths(bundleSchema, { ...bundle, id: "bundle--x" }), [
    "id",
  ]);
  assert.equal(
    issuePaths(bundleSchema, { ...bundle, objects: [{ type: "x" }] }),
    [
      "objects.0.type",
    ],
  );
  assert.equal(
    issuePaths(bundleSchema, { ...bundle, objects: [url, domainName, url] }),
    [
      "objects.2.id",
    ],
  );
});

t.run();
