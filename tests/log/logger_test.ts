import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  createLogger,
  createMemoryLogger,
  formatTimestamp,
} from "../../src/log/logger.ts";

const t = suite("log: JSON logger");

const AT = Date.UTC(2024, 0, 15, 10, 30, 0, 123) + 0.456;

t("timestamps are UTC with microseconds", () => {
  assert.is(formatTimestamp(AT), "2024-01-15T10:30:00.123456Z");
  assert.is(
    formatTimestamp(Date.UTC(2024, 0, 1)),
    "2024-01-01T00:00:00.000000Z",
  );
});

t("lines carry the keys OpenCTI connectors write", () => {
  const logger = createMemoryLogger({
    name: "Cofense ThreatHQ",
    now: () => AT,
  });
  logger.info("Connector registered with ID", { id: "abc" });

  assert.is(
    logger.lines[0],
    '{"timestamp":"2024-01-15T10:30:00.123456Z","level":"INFO","name":"Cofense ThreatHQ","message":"Connector registered with ID","attributes":{"id":"abc"}}',
  );
});

t("attributes are left out when absent", () => {
  const logger = createMemoryLogger({ now: () => AT });
  logger.warn("Plain message");
  assert.equal(Object.keys(logger.records()[0]), [
    "timestamp",
    "level",
    "name",
    "message",
  ]);
  assert.is(logger.records()[0].level, "WARNING");
});

t("the level filters lower lines", () => {
  const logger = createMemoryLogger({ level: "warn" });
  logger.debug("d");
  logger.info("i");
  logger.warn("w");
  logger.error("e");
  assert.equal(logger.records().map((r) => r.message), ["w", "e"]);
  assert.is(logger.enabled("info"), false);
  assert.is(logger.enabled("error"), true);
});

t("plain text mode writes LEVEL:name:message", () => {
  const lines: string[] = [];
  const logger = createLogger({
    name: "Cofense ThreatHQ",
    json: false,
    sink: (line) => lines.push(line),
  });
  logger.error("Run failed", { threat_id: 42, reason: "timeout" });
  assert.is(
    lines[0],
    "ERROR:Cofense ThreatHQ:Run failed threat_id=42 reason=timeout",
  );
});

t("errors become name and message without a stack", () => {
  const logger = createMemoryLogger();
  logger.error("Request failed", { error: new TypeError("bad value") });
  assert.equal(logger.records()[0].attributes, {
    error: { name: "TypeError", message: "bad value" },
  });
  assert.not.match(logger.lines[0], "at ");
});

t("secrets are redacted everywhere in a line", () => {
  const logger = createMemoryLogger({ secrets: ['s3cr"et', "token123"] });
  logger.info("Header token123 seen", {
    url: "https://user:token123@example.com",
    quoted: 'pass s3cr"et',
  });
  const line = logger.lines[0];
  assert.not.match(line, "token123");
  assert.not.match(line, 's3cr\\"et');
  assert.is(logger.records()[0].message, "Header *** seen");
});

t("very short secrets are left in place", () => {
  const logger = createMemoryLogger({ secrets: ["p", "u1", "pass"] });
  logger.info("upload complete", { user: "u1", token: "pass" });
  const line = logger.lines[0];
  assert.match(line, "upload complete");
  assert.match(line, '"user":"u1"');
  assert.match(line, '"token":"***"');
});

t("credentials inside URLs are redacted", () => {
  const logger = createMemoryLogger();
  logger.error("Connection failed", {
    error: "Invalid URL: 'amqp://guest:guest@rabbit mq:5672/'",
    url: "http://proxyuser:Proxy-Pass-123@opencti.example.com/graphql",
  });
  const line = logger.lines[0];
  assert.not.match(line, "guest:guest");
  assert.not.match(line, "Proxy-Pass-123");
  assert.match(line, "amqp://***@rabbit mq:5672/");
  assert.match(line, "http://***@opencti.example.com/graphql");
});

t.run();
