import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  isPortalEmail,
  isPortalHost,
  isPortalUrl,
  urlHost,
} from "../../src/mapper/self_reference.ts";
import { loadFixture, mapOk, valuesOf } from "./mapping_helpers.ts";

const t = suite("mapper: portal self-references");

t("portal values never become observables", () => {
  const mapped = mapOk(loadFixture("portal-links"));

  assert.equal(valuesOf(mapped.objects, "url"), [
    "http://example.com/?ref=threathq.com",
  ]);
  assert.equal(valuesOf(mapped.objects, "domain-name"), [
    "notcofense.com",
    "cofense.com.example.net",
  ]);
  assert.equal(valuesOf(mapped.objects, "email-addr"), [
    "cofense.com@example.org",
  ]);
});

t("dropped quietly, without problems", () => {
  assert.equal(mapOk(loadFixture("portal-links")).problems, []);
});

t("portal hosts and subdomains", () => {
  for (
    const host of [
      "threathq.com",
      "www.threathq.com",
      "COFENSE.COM",
      "mail.cofense.com.",
      " cofense.com ",
    ]
  ) {
    assert.ok(isPortalHost(host), host);
  }
  for (
    const host of [
      "notcofense.com",
      "cofense.com.example.net",
      "threathq.co",
      "example.com",
    ]
  ) {
    assert.not.ok(isPortalHost(host), host);
  }
});

t("portal URLs with and without scheme", () => {
  assert.ok(isPortalUrl("https://www.threathq.com/p42/search/default?m=1"));
  assert.ok(isPortalUrl("www.threathq.com/apiv1/t3/malware/1/pdf"));
  assert.ok(isPortalUrl("http://user@cofense.com:8080/x"));
  assert.not.ok(isPortalUrl("http://example.com/?ref=threathq.com"));
  assert.not.ok(isPortalUrl("http://threathq.com.example.net/"));
});

t("hosts of unparsable URLs", () => {
  assert.is(urlHost("http://a b.threathq.com/x"), "a b.threathq.com");
  assert.is(urlHost(""), undefined);
});

t("portal email addresses", () => {
  assert.ok(isPortalEmail("intel@cofense.com"));
  assert.ok(isPortalEmail("alerts@portal.threathq.com"));
  assert.not.ok(isPortalEmail("cofense.com@example.org"));
  assert.not.ok(isPortalEmail("no-at-sign"));
});

t.run();
