import { suite } from "uvu";
import * as assert from "uvu/assert";
import { AUTHOR_ID } from "../../src/mapper/author.ts";
import {
  attachmentMimeType,
  sniffMimeType,
} from "../../src/mapper/attachment_type.ts";
import {
  mapPhishThreat,
  mapThreatOfType,
  stableReportName,
} from "../../src/mapper/map_threat.ts";
import {
  identityId,
  isoMillis,
  locationId,
  reportId,
  scoId,
} from "../../src/stix/ids.ts";
import { danglingReferences } from "../../src/stix/references.ts";
import { type StixObject, stixObjectSchema } from "../../src/stix/types.ts";
import {
  corrupt,
  DEFAULT_OPTIONS,
  findOne,
  loadFixture,
  mapOk,
  ofType,
  reportOf,
  valuesOf,
} from "./mapping_helpers.ts";

const t = suite("mapper: phish");

const FULL = mapOk(loadFixture("phish/full"));

const PHISHING_URL =
  "https://secure-login.example.com/bank/signin.php?session=1";

const PNG_BYTES = Uint8Array.from([
  0x89,
  0x50,
  0x4e,
  0x47,
  0x0d,
  0x0a,
  0x1a,
  0x0a,
  0x00,
]);

function linked(
  objects: readonly StixObject[],
  source: string,
  type: string,
  target: string,
): boolean {
  return ofType(objects, "relationship").some((relationship) =>
    relationship.source_ref === source &&
    relationship.relationship_type === type &&
    relationship.target_ref === target
  );
}

function indicatorNames(objects: readonly StixObject[]): string[] {
  return ofType(objects, "indicator").map((indicator) => indicator.name ?? "");
}

t("result fields and stable name", () => {
  assert.is(FULL.threatType, "phish");
  assert.is(FULL.threatId, 800001);
  assert.is(FULL.stableName, "Cofense ThreatHQ phish 800001");
  assert.is(stableReportName("phish", 800001), FULL.stableName);
});

t("report id over the stable name and confirmedDate", () => {
  const report = reportOf(FULL);
  const expected = reportId(
    "Cofense ThreatHQ phish 800001",
    isoMillis(1717300000000),
  );

  assert.is(report.id, expected);
  assert.is(FULL.reportId, expected);
  assert.is(report.published, isoMillis(1717300000000));
});

t("id survives an edited title", () => {
  const edited = mapOk({ ...loadFixture("phish/full"), title: "Other" });

  assert.is(edited.reportId, FULL.reportId);
  assert.is.not(reportOf(edited).name, reportOf(FULL).name);
});

t("report type, name, dates, reference", () => {
  const report = reportOf(FULL);

  assert.equal(report.report_types, ["Credential Phishing"]);
  assert.is(report.name, "800001 - Sign in - Example Bank");
  assert.is(report.created, isoMillis(1717300000000));
  assert.is(report.modified, isoMillis(1717390000000));
  assert.equal(report.external_references, [{
    source_name: "Cofense ThreatHQ",
    external_id: "800001",
    url: "https://www.threathq.com/p42/search/default?p=800001",
    description: "Sign in - Example Bank",
  }]);
  assert.not.ok("labels" in report);
});

t("name falls back to the phishing URL", () => {
  const report = reportOf(mapOk(loadFixture("phish/deprecated")));

  assert.is(report.name, "800002 - http://webmail.example.org/owa/login.html");
});

t("name without title or valid URL", () => {
  const sparse = reportOf(mapOk(loadFixture("phish/sparse")));
  const invalid = reportOf(mapOk(loadFixture("phish/invalid-values")));

  assert.is(sparse.name, "Cofense ThreatHQ phish 800003");
  assert.is(invalid.name, "Cofense ThreatHQ phish 800004");
});

t("published falls back to firstDate", () => {
  const mapped = mapOk(loadFixture("phish/deprecated"));

  assert.is(reportOf(mapped).published, isoMillis(1717490000000));
  assert.is(
    mapped.reportId,
    reportId("Cofense ThreatHQ phish 800002", isoMillis(1717490000000)),
  );
});

t("then lastDate, then the changelog time", () => {
  const last = mapOk({ id: 1, threatType: "PHISH", lastDate: 1717000000000 });
  const logged = mapOk({ id: 1, threatType: "PHISH" }, {}, {
    changelogTime: 1716000000000,
  });

  assert.is(reportOf(last).published, isoMillis(1717000000000));
  assert.is(reportOf(logged).published, isoMillis(1716000000000));
});

t("no date at all is rejected", () => {
  const result = mapPhishThreat(
    { id: 1, threatType: "PHISH" },
    DEFAULT_OPTIONS,
  );

  assert.is(result.ok, false);
  if (!result.ok) assert.match(result.problems[0].reason, "published date");
});

t("phishing, reported and action URLs", () => {
  assert.equal(valuesOf(FULL.objects, "url"), [
    PHISHING_URL,
    "http://short.example.net/abc",
    "https://secure-login.example.com/bank/next.php",
  ]);
  for (const url of ofType(FULL.objects, "url")) {
    assert.is(url.x_opencti_score, 100, url.value);
  }
});

t("URL descriptions name the role", () => {
  const description = (value: string) =>
    findOne(FULL.objects, "url", (url) => url.value === value)
      .x_opencti_description ?? "";

  assert.is(description(PHISHING_URL), "Location of the phishing page");
  assert.match(description("http://short.example.net/abc"), "reported");
  assert.match(
    description("https://secure-login.example.com/bank/next.php"),
    "sends the victim's input",
  );
});

t("deprecated string URLs", () => {
  const { objects } = mapOk(loadFixture("phish/deprecated"));

  assert.equal(valuesOf(objects, "url"), [
    "http://webmail.example.org/owa/login.html",
    "http://redirect.example.net/r?id=5",
    "http://webmail.example.org/owa/send.php",
  ]);
});

t("URL parts win over deprecated strings", () => {
  const { objects } = mapOk({
    id: 2,
    threatType: "PHISH",
    firstDate: 1717000000000,
    phishingURL: "http://old.example.com/",
    phishingURL_1: { url: "http://new.example.com/" },
    reportedURLs: ["http://old-reported.example.com/"],
    reportedURLs_1: [{ url: "http://new-reported.example.com/" }],
    actionURLs: ["http://old-action.example.com/"],
    actionURLs_1: [{ url: "http://new-action.example.com/" }],
  });

  assert.equal(valuesOf(objects, "url"), [
    "http://new.example.com/",
    "http://new-reported.example.com/",
    "http://new-action.example.com/",
  ]);
});

t("URLs become indicators", () => {
  const names = indicatorNames(FULL.objects);

  for (const value of valuesOf(FULL.objects, "url")) {
    assert.ok(names.includes(value), value);
  }
});

t("portal URLs dropped quietly", () => {
  const mapped = mapOk(loadFixture("phish/invalid-values"));

  assert.not.ok(
    valuesOf(mapped.objects, "url").some((url) => url.includes("threathq")),
  );
  assert.not.ok(
    mapped.problems.some((problem) =>
      problem.field === "reportedURLs_1[3].url"
    ),
  );
});

t("invalid URLs skipped with problems", () => {
  const { objects, problems } = mapOk(loadFixture("phish/invalid-values"));
  const fields = problems.map((problem) => problem.field);

  assert.equal(valuesOf(objects, "url"), ["http://ok.example.com/r"]);
  assert.ok(fields.includes("phishingURL_1.url"));
  assert.ok(fields.includes("reportedURLs_1[0]"));
  assert.ok(fields.includes("reportedURLs_1[1]"));
  assert.ok(fields.includes("actionURLs[0]"));
});

t("kit archive: file, score 100, indicator", () => {
  const kit = findOne(
    FULL.objects,
    "file",
    (file) => file.name === "bank-kit.zip",
  );

  assert.equal(kit.hashes, {
    "MD5": "6".repeat(32),
    "SHA-1": "6".repeat(40),
    "SHA-256": "6".repeat(64),
    "SHA-512": "6".repeat(128),
  });
  assert.is(kit.x_opencti_score, 100);
  assert.ok(indicatorNames(FULL.objects).includes("bank-kit.zip"));
});

t("kit files: no score, no indicator", () => {
  const names = indicatorNames(FULL.objects);

  for (const name of ["post.php", "jquery.min.js"]) {
    const file = findOne(
      FULL.objects,
      "file",
      (object) => object.name === name,
    );
    assert.is(file.x_opencti_score, undefined, name);
    assert.not.ok(names.includes(name), name);
    assert.match(file.x_opencti_description ?? "", "bank-kit.zip");
  }
});

t("kit emails from files and observedEmails", () => {
  const full = valuesOf(FULL.objects, "email-addr");
  const deprecated = valuesOf(
    mapOk(loadFixture("phish/deprecated")).objects,
    "email-addr",
  );

  assert.equal(full, ["drop.box@example.org", "second.drop@example.net"]);
  assert.equal(deprecated, ["collector@example.com"]);
  for (const address of ofType(FULL.objects, "email-addr")) {
    assert.is(address.x_opencti_score, 100);
    assert.ok(indicatorNames(FULL.objects).includes(address.value));
  }
});

t("bad kits and addresses skipped with problems", () => {
  const { objects, problems } = mapOk(loadFixture("phish/invalid-values"));
  const fields = problems.map((problem) => problem.field);

  assert.equal(ofType(objects, "file"), []);
  assert.equal(valuesOf(objects, "email-addr"), ["ok@example.com"]);
  assert.ok(fields.includes("kits[0].md5"));
  assert.ok(fields.includes("kits[0].sha256"));
  assert.ok(fields.includes("kits[0]"));
  assert.ok(fields.includes("kits[0].files[0]"));
  assert.ok(fields.includes("kits[0].files[0].emails[0].email"));
  assert.not.ok(
    valuesOf(objects, "email-addr").includes("support@cofense.com"),
  );
});

t("one organization per brand", () => {
  const brands = ofType(FULL.objects, "identity")
    .filter((identity) => identity.id !== AUTHOR_ID);

  assert.equal(brands.map((brand) => brand.name), [
    "Example Bank",
    "Sample Mail",
  ]);
  for (const brand of brands) {
    assert.is(brand.identity_class, "organization");
    assert.is(brand.id, identityId(brand.name, "organization"));
  }
});

t("no-brand entry and blank names skipped", () => {
  const deprecated = mapOk(loadFixture("phish/deprecated"));
  const invalid = mapOk(loadFixture("phish/invalid-values"));
  const names = (objects: readonly StixObject[]) =>
    ofType(objects, "identity")
      .filter((identity) => identity.id !== AUTHOR_ID)
      .map((identity) => identity.name);

  assert.equal(names(deprecated.objects), []);
  assert.equal(names(invalid.objects), ["Example Bank"]);
});

t("IP lookup of the phishing page", () => {
  const host = scoId("domain-name", { value: "secure-login.example.com" });
  const address = scoId("ipv4-addr", { value: "203.0.113.80" });

  assert.ok(linked(FULL.objects, host, "resolves-to", address));
  assert.ok(
    linked(
      FULL.objects,
      address,
      "belongs-to",
      scoId("autonomous-system", { number: 64510 }),
    ),
  );
  assert.ok(
    linked(
      FULL.objects,
      address,
      "located-at",
      locationId("United Kingdom", "Country"),
    ),
  );
});

t("resolved address and host never scored", () => {
  const address = findOne(FULL.objects, "ipv4-addr");
  const host = findOne(FULL.objects, "domain-name");
  const names = indicatorNames(FULL.objects);

  assert.is(address.x_opencti_score, undefined);
  assert.is(host.x_opencti_score, undefined);
  assert.not.ok(names.includes(address.value));
  assert.not.ok(names.includes(host.value));
});

t("lookup without a valid phishing URL", () => {
  const { objects, problems } = mapOk(loadFixture("phish/invalid-values"));
  const problem = problems.find((entry) => entry.field === "ipDetail");

  assert.ok(problem);
  assert.match(problem?.reason ?? "", "no valid phishing URL");
  assert.equal(ofType(objects, "ipv4-addr"), []);
});

t("report references every object", () => {
  const report = reportOf(FULL);
  const made = FULL.objects
    .filter((object) =>
      object.type !== "marking-definition" && object.type !== "report" &&
      object.id !== AUTHOR_ID
    )
    .map((object) => object.id);

  assert.equal([...report.object_refs].sort(), [...made].sort());
  assert.equal(danglingReferences(FULL.objects), []);
});

t("empty phish cites the author", () => {
  const report = reportOf(mapOk(loadFixture("phish/sparse")));

  assert.equal(report.object_refs, [AUTHOR_ID]);
});

t("description table", () => {
  const description = reportOf(FULL).description ?? "";

  assert.match(description, "| Page title | Sign in - Example Bank |");
  assert.match(description, `| Phishing URL | ${PHISHING_URL} |`);
  assert.match(description, "| Imitated brands | Example Bank, Sample Mail |");
  assert.match(
    description,
    "| Confirmed (US/Eastern) | 2024-06-01 23:46:40 EDT |",
  );
  assert.match(description, "| Confirmed phishing website | YES |");
  assert.match(description, "| Page language | English |");
  assert.match(description, "| Kits | bank-kit.zip |");
});

t("screenshot attached as an image", () => {
  const report = reportOf(mapOk(loadFixture("phish/full"), {}, {
    attachments: [{
      name: "800001.png",
      mimeType: "image/png",
      data: PNG_BYTES,
    }],
  }));

  assert.equal(report.x_opencti_files, [{
    name: "800001.png",
    mime_type: "image/png",
    data: PNG_BYTES.toBase64(),
    object_marking_refs: [
      "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37",
    ],
    no_trigger_import: false,
  }]);
});

t("no screenshot, no files", () => {
  assert.not.ok("x_opencti_files" in reportOf(FULL));
});

t("generic media type replaced from the bytes", () => {
  const report = reportOf(mapOk(loadFixture("phish/full"), {}, {
    attachments: [{
      name: "800001",
      mimeType: "application/octet-stream",
      data: PNG_BYTES,
    }],
  }));

  assert.is(report.x_opencti_files?.[0].mime_type, "image/png");
});

t("media types from signatures", () => {
  const bytes = (text: string) => new TextEncoder().encode(text);

  assert.is(sniffMimeType(bytes("%PDF-1.7")), "application/pdf");
  assert.is(sniffMimeType(PNG_BYTES), "image/png");
  assert.is(
    sniffMimeType(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0])),
    "image/jpeg",
  );
  assert.is(sniffMimeType(bytes("GIF89a")), "image/gif");
  assert.is(sniffMimeType(bytes("RIFF\0\0\0\0WEBPVP8 ")), "image/webp");
  assert.is(sniffMimeType(bytes("RIFF\0\0\0\0WAVEfmt ")), undefined);
  assert.is(sniffMimeType(bytes("<html>")), undefined);
  assert.is(sniffMimeType(new Uint8Array()), undefined);
});

t("given media type kept", () => {
  const attachment = (mimeType: string, data = PNG_BYTES) => ({
    name: "a",
    mimeType,
    data,
  });

  assert.is(attachmentMimeType(attachment("image/jpeg")), "image/jpeg");
  assert.is(attachmentMimeType(attachment(" ")), "image/png");
  assert.is(
    attachmentMimeType(attachment("", new TextEncoder().encode("text"))),
    "application/octet-stream",
  );
});

t("promotion off: no indicators", () => {
  const { objects } = mapOk(loadFixture("phish/full"), {
    promoteIndicators: false,
  });

  assert.equal(ofType(objects, "indicator"), []);
  assert.is(ofType(objects, "url").length, 3);
});

t("excluding Major leaves the values out", () => {
  const { objects } = mapOk(loadFixture("phish/full"), {
    impactToExclude: ["Major"],
  });

  assert.equal(ofType(objects, "url"), []);
  assert.equal(ofType(objects, "file"), []);
  assert.equal(ofType(objects, "ipv4-addr"), []);
  assert.is(ofType(objects, "identity").length, 3);
});

t("other threat types rejected", () => {
  const malware = mapPhishThreat(
    { id: 1, threatType: "MALWARE", firstDate: 1717000000000 },
    DEFAULT_OPTIONS,
  );
  const untyped = mapPhishThreat(
    { id: 1, firstDate: 1717000000000 },
    DEFAULT_OPTIONS,
  );

  assert.is(malware.ok, false);
  if (!malware.ok) assert.is(malware.problems[0].field, "threatType");
  assert.ok(untyped.ok);
});

t("mapThreatOfType follows the endpoint", () => {
  const raw = { id: 1, firstDate: 1717000000000, firstPublished: 1 };
  const phish = mapThreatOfType("phish", raw, DEFAULT_OPTIONS);
  const malware = mapThreatOfType("malware", raw, DEFAULT_OPTIONS);

  assert.ok(phish.ok);
  assert.ok(malware.ok);
  if (phish.ok) assert.is(phish.threat.threatType, "phish");
  if (malware.ok) assert.is(malware.threat.threatType, "malware");
});

t("never throws on corrupted phish", () => {
  const junkValues = [null, 0, -1, 1.5, "", "x", [], {}, [null], true];
  let mapped = 0;

  for (const name of ["phish/full", "phish/deprecated"]) {
    const fixture = loadFixture(name);
    for (let seed = 0; seed < 200; seed++) {
      const junk = junkValues[seed % junkValues.length];
      const raw = corrupt(fixture, junk, seed * 7919);
      const result = mapPhishThreat(raw, DEFAULT_OPTIONS);
      if (!result.ok) continue;

      mapped += 1;
      for (const object of result.threat.objects) {
        const parsed = stixObjectSchema.safeParse(object);
        assert.ok(parsed.success, `${name} seed ${seed}: ${object.id}`);
      }
      assert.equal(danglingReferences(result.threat.objects), [], name);
    }
  }
  assert.ok(mapped > 300, `only ${mapped} corrupted threats mapped`);
});

t.run();
