import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  equalityPattern,
  escapePatternString,
  filePattern,
} from "../../src/stix/pattern.ts";
import { indicatorId } from "../../src/stix/ids.ts";

const t = suite("stix: pattern");

// uvu calls a function `expects` as a predicate on the thrown error.
const isTypeError = (error: unknown) => error instanceof TypeError;

const MD5 = "8e1a7d8b88096693a52173618b7b709e";
const SHA1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
const SHA256 =
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

t("escape single quotes", () => {
  assert.is(escapePatternString("it's"), "it\\'s");
  assert.is(escapePatternString("''"), "\\'\\'");
});

t("escape backslashes", () => {
  assert.is(escapePatternString("C:\\Temp\\a.exe"), "C:\\\\Temp\\\\a.exe");
  assert.is(escapePatternString("\\'"), "\\\\\\'");
});

t("escape keeps other characters", () => {
  assert.is(escapePatternString("münchen.de"), "münchen.de");
  assert.is(escapePatternString('レ: 💶 "x"'), 'レ: 💶 "x"');
  assert.is(escapePatternString("a\r\nb\t"), "a\r\nb\t");
  assert.is(escapePatternString(""), "");
});

t("equality pattern for url", () => {
  const pattern = equalityPattern("url", "http://abc.dummy.com/docs/dummy/doc");
  const urlPattern = equalityPattern(
    "url:value",
    "http://abc.dummy.com/docs/dummy/doc",
  );

  assert.is(pattern, "[url = 'http://abc.dummy.com/docs/dummy/doc']");
  assert.is(urlPattern, "[url:value = 'http://abc.dummy.com/docs/dummy/doc']");
  assert.is(
    indicatorId(urlPattern),
    "indicator--514238e2-207e-5a8b-9046-3fe127abc79d",
  );
});

t("equality pattern escapes value", () => {
  const pattern = equalityPattern("file:name", "it's.exe");

  assert.is(pattern, "[file:name = 'it\\'s.exe']");
  assert.is(
    indicatorId(pattern),
    "indicator--f69ac75c-06aa-5415-9a90-9dab40101ebc",
  );
  assert.is(
    equalityPattern("domain-name:value", "münchen.de"),
    "[domain-name:value = 'münchen.de']",
  );
  assert.is(
    equalityPattern("url:value", "http://x.com/a'b\\c"),
    "[url:value = 'http://x.com/a\\'b\\\\c']",
  );
});

t("file pattern quotes every hash name", () => {
  assert.is(
    filePattern({ MD5, "SHA-256": SHA256 }),
    `[file:hashes.'SHA-256' = '${SHA256}' OR file:hashes.'MD5' = '${MD5}']`,
  );
  assert.is(filePattern({ MD5 }), `[file:hashes.'MD5' = '${MD5}']`);
  assert.is(
    filePattern({ "SHA-1": SHA1 }),
    `[file:hashes.'SHA-1' = '${SHA1}']`,
  );
});

t("file pattern order is fixed", () => {
  const forward = filePattern({ MD5, "SHA-1": SHA1, "SHA-256": SHA256 });
  const backward = filePattern({ "SHA-256": SHA256, "SHA-1": SHA1, MD5 });

  assert.is(forward, backward);
  assert.is(
    forward,
    `[file:hashes.'SHA-256' = '${SHA256}' OR file:hashes.'SHA-1' = '${SHA1}'` +
      ` OR file:hashes.'MD5' = '${MD5}']`,
  );
});

t("file pattern normalizes key names", () => {
  assert.is(
    filePattern({ md5: MD5, sha256: SHA256 }),
    filePattern({ MD5, "SHA-256": SHA256 }),
  );
});

t("file pattern skips invalid hashes", () => {
  assert.is(
    filePattern({ MD5, "SHA-256": "256" }),
    `[file:hashes.'MD5' = '${MD5}']`,
  );
  assert.is(
    filePattern({ MD5: "md5", "SHA-256": SHA256, custom: "x" }),
    `[file:hashes.'SHA-256' = '${SHA256}']`,
  );
});

t("file pattern needs a valid hash", () => {
  assert.throws(() => filePattern({}), isTypeError);
  assert.throws(
    () => filePattern({ MD5: "md5", "SHA-256": "256" }),
    /"md5"/,
  );
});

t.run();
