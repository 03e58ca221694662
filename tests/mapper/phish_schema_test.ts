import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  parsePhishThreat,
  phishScreenshotUrl,
  screenshotUrlOf,
} from "../../src/threathq/phish_schema.ts";
import { loadFixture } from "./mapping_helpers.ts";

const t = suite("mapper: phish schema");

function parsed(raw: unknown) {
  const result = parsePhishThreat(raw);
  if (!result.ok) {
    assert.unreachable(`rejected: ${JSON.stringify(result.issues)}`);
    throw new Error("unreachable");
  }
  return result;
}

t("rejects values without an integer id", () => {
  for (const raw of [null, "phish", [], { id: "p_1" }, { id: 1.5 }]) {
    const result = parsePhishThreat(raw);
    assert.is(result.ok, false, JSON.stringify(raw));
  }
});

t("every field of the full fixture", () => {
  const { threat, issues } = parsed(loadFixture("phish/full"));

  assert.equal(issues, []);
  assert.is(threat.id, 800001);
  assert.is(threat.threatType, "PHISH");
  assert.is(threat.title, "Sign in - Example Bank");
  assert.is(threat.confirmedDate, 1717300000000);
  assert.is(threat.firstDate, 1717290000000);
  assert.is(threat.lastDate, 1717390000000);
  assert.is(threat.processingState, "ANALYZED");
  assert.is(threat.isConfirmedPhishingWebsite, "YES");
  assert.is(
    threat.threatDetailURL,
    "https://www.threathq.com/p42/search/default?p=800001",
  );
  assert.equal(threat.brands.map((brand) => brand.text), [
    "Example Bank",
    "Sample Mail",
    "example bank",
  ]);
  assert.is(threat.phishingURL_1?.host, "secure-login.example.com");
  assert.is(threat.reportedURLs_1.length, 2);
  assert.is(threat.actionURLs_1[0].path, "/bank/next.php");
  assert.is(threat.ipDetail?.asn, 64510);
  assert.is(threat.ipDetail?.countryName, "United Kingdom");
  assert.is(threat.language?.languageDefinition?.name, "English");
  assert.is(threat.kits[0].kitName, "bank-kit.zip");
  assert.is(threat.kits[0].fileSize, 48213);
  assert.is(threat.kits[0].files[0].path, "bank-kit/post.php");
  assert.equal(
    threat.kits[0].files[0].emails.map((email) => email.obfuscationType),
    ["none", "base64"],
  );
  assert.is(threat.kits[0].observedEmails[0].email, "drop.box@example.org");
});

t("deprecated string forms", () => {
  const { threat, issues } = parsed(loadFixture("phish/deprecated"));

  assert.equal(issues, []);
  assert.is(threat.phishingURL, "http://webmail.example.org/owa/login.html");
  assert.is(threat.phishingURL_1, undefined);
  assert.equal(threat.reportedURLs.map((entry) => entry.url), [
    "http://webmail.example.org/owa/login.html",
    "http://redirect.example.net/r?id=5",
  ]);
  assert.equal(
    threat.actionURLs[0].url,
    "http://webmail.example.org/owa/send.php",
  );
  assert.equal(threat.reportedURLs_1, []);
});

t("missing lists become empty", () => {
  const { threat, issues } = parsed({ id: 9 });

  assert.equal(threat.brands, []);
  assert.equal(threat.reportedURLs_1, []);
  assert.equal(threat.reportedURLs, []);
  assert.equal(threat.actionURLs_1, []);
  assert.equal(threat.actionURLs, []);
  assert.equal(threat.kits, []);
  assert.is(threat.ipDetail, undefined);
  assert.equal(issues, []);
});

t("bad fields and items left out", () => {
  const { threat, issues } = parsed(loadFixture("phish/invalid-values"));
  const fields = issues.map((issue) => issue.field);

  assert.is(threat.confirmedDate, undefined);
  assert.is(threat.language, undefined);
  assert.equal(threat.actionURLs_1, []);
  assert.equal(threat.brands.map((brand) => brand.text), [
    "  ",
    "Example Bank",
  ]);
  assert.is(threat.kits.length, 1);
  assert.is(threat.kits[0].files.length, 1);
  assert.is(threat.kits[0].files[0].emails.length, 2);
  assert.equal(fields, [
    "confirmedDate",
    "language",
    "brands[1]",
    "reportedURLs_1[2]",
    "actionURLs_1",
    "kits[0].files[0].emails[2]",
    "kits[0].files[1]",
    "kits[1]",
  ]);
});

t("nested ipDetail fields narrowed alone", () => {
  const { threat, issues } = parsed({
    id: 9,
    ipDetail: { ip: "192.0.2.1", asn: true, countryName: "Spain" },
  });

  assert.equal(threat.ipDetail, { ip: "192.0.2.1", countryName: "Spain" });
  assert.equal(issues.map((issue) => issue.field), ["ipDetail.asn"]);
});

t("screenshot URL, current then deprecated", () => {
  const full = parsed(loadFixture("phish/full")).threat;
  const deprecated = parsed(loadFixture("phish/deprecated")).threat;
  const none = parsed({ id: 9, screenshot: { url_1: { url: " " } } }).threat;

  assert.is(
    phishScreenshotUrl(full),
    "https://www.threathq.com/apiv1/screenshot/800001",
  );
  assert.is(
    phishScreenshotUrl(deprecated),
    "https://www.threathq.com/apiv1/screenshot/800002",
  );
  assert.is(phishScreenshotUrl(none), undefined);
});

t("screenshot URL of a raw threat", () => {
  assert.is(
    screenshotUrlOf(loadFixture("phish/full")),
    "https://www.threathq.com/apiv1/screenshot/800001",
  );
  assert.is(screenshotUrlOf({ id: 9 }), undefined);
  assert.is(screenshotUrlOf("not a threat"), undefined);
});

t.run();
