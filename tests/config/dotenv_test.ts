import { suite } from "uvu";
import * as assert from "uvu/assert";
import { DotenvSyntaxError, parseDotenv } from "../../src/config/dotenv.ts";

const t = suite("config: dotenv parser");

t("plain, exported and commented lines", () => {
  const values = parseDotenv(
    [
      "# a comment",
      "OPENCTI_URL=http://localhost:8080",
      "export CONNECTOR_NAME = Cofense ThreatHQ  # trailing comment",
      "",
      "EMPTY=",
    ].join("\n"),
  );
  assert.is(values.get("OPENCTI_URL"), "http://localhost:8080");
  assert.is(values.get("CONNECTOR_NAME"), "Cofense ThreatHQ");
  assert.is(values.get("EMPTY"), "");
  assert.is(values.size, 3);
});

t("single quotes are literal", () => {
  const values = parseDotenv("PASS='a#b\\n$c'");
  assert.is(values.get("PASS"), "a#b\\n$c");
});

t("double quotes take escapes and line breaks", () => {
  const values = parseDotenv('KEY="line1\\nline2 \\"q\\" \\\\"\nNEXT=x');
  assert.is(values.get("KEY"), 'line1\nline2 "q" \\');
  assert.is(values.get("NEXT"), "x");
});

t("a double-quoted value may span lines", () => {
  const pem = "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----";
  const values = parseDotenv(`MQ_USE_SSL_CA="${pem}"\nOTHER=1`);
  assert.is(values.get("MQ_USE_SSL_CA"), pem);
  assert.is(values.get("OTHER"), "1");
});

t("CRLF line ends and a byte order mark", () => {
  const values = parseDotenv("\uFEFFA=1\r\nB=2\r\n");
  assert.is(values.get("A"), "1");
  assert.is(values.get("B"), "2");
});

t("the last assignment wins", () => {
  assert.is(parseDotenv("A=1\nA=2").get("A"), "2");
});

t("syntax errors name the line", () => {
  const cases = ["GOOD=1\nno equals sign", "1BAD=x", 'A="open', "A='open"];
  for (const text of cases) {
    try {
      parseDotenv(text);
      assert.unreachable(`no error for ${JSON.stringify(text)}`);
    } catch (error) {
      assert.instance(error, DotenvSyntaxError);
      assert.match((error as Error).message, /^line \d+: /);
    }
  }
  try {
    parseDotenv("GOOD=1\nno equals sign");
  } catch (error) {
    assert.is((error as DotenvSyntaxError).line, 2);
  }
});

t.run();
