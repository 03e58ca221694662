import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  decodeContent,
  encodeContent,
  pythonJsonDumps,
  queueMessage,
  queueMessageSchema,
} from "../../src/opencti/message.ts";
import { splitObjects } from "../../src/opencti/splitter.ts";

const t = suite("opencti: queue message");

const EXAMPLE_IDENTITY = {
  type: "identity",
  spec_version: "2.1",
  id: "identity--69f1df30-eb2f-5845-88e0-64e2d05ab72e",
  name: "Example Corp",
  identity_class: "organization",
};

/**
 * The `content` pycti 6.9 writes for that identity split from the bundle
 * `bundle--00000000-0000-4000-8000-000000000000`.
 */
const PYCTI_CONTENT =
  "eyJ0eXBlIjogImJ1bmRsZSIsICJpZCI6ICJidW5kbGUtLTAwMDAwMDAwLTAwMDAtNDAwMC04MDAwLTAwMDAwMDAwMDAwMCIsICJzcGVjX3ZlcnNpb24iOiAiMi4xIiwgInhfb3BlbmN0aV9zZXEiOiAxLCAib2JqZWN0cyI6IFt7InR5cGUiOiAiaWRlbnRpdHkiLCAic3BlY192ZXJzaW9uIjogIjIuMSIsICJpZCI6ICJpZGVudGl0eS0tNjlmMWRmMzAtZWIyZi01ODQ1LTg4ZTAtNjRlMmQwNWFiNzJlIiwgIm5hbWUiOiAiRXhhbXBsZSBDb3JwIiwgImlkZW50aXR5X2NsYXNzIjogIm9yZ2FuaXphdGlvbiIsICJuYl9kZXBzIjogMX1dfQ==";

t("content matches pycti byte for byte", () => {
  const [bundle] = splitObjects([EXAMPLE_IDENTITY], {
    bundleId: "bundle--00000000-0000-4000-8000-000000000000",
  }).bundles;

  assert.is(encodeContent(bundle), PYCTI_CONTENT);
});

t("content decodes to the bundle", () => {
  const [bundle] = splitObjects([EXAMPLE_IDENTITY]).bundles;

  assert.equal(decodeContent(encodeContent(bundle)), bundle);
});

t("message keys in pycti order", () => {
  const [bundle] = splitObjects([EXAMPLE_IDENTITY]).bundles;
  const message = queueMessage(bundle, {
    applicantId: "88ec0c6a-13ce-5e39-b486-354fe4a7084f",
    sequence: 1,
    workId: "work_5ed680de_2024-01-15T10:30:00.123Z",
  });

  assert.equal(Object.keys(message), [
    "bundle_type",
    "applicant_id",
    "action_sequence",
    "entities_types",
    "content",
    "update",
    "draft_id",
    "work_id",
  ]);
  assert.is(message.bundle_type, "QUEUE_BUNDLE");
  assert.equal(message.entities_types, []);
  assert.is(message.update, false);
  assert.is(message.draft_id, null);
  assert.ok(queueMessageSchema.safeParse(message).success);
});

t("work id left out when absent", () => {
  const [bundle] = splitObjects([EXAMPLE_IDENTITY]).bundles;
  const message = queueMessage(bundle, { applicantId: null, sequence: 3 });
  const text = pythonJsonDumps(message);

  assert.not.ok("work_id" in message);
  assert.not.match(text, /work_id/);
  assert.is(message.action_sequence, 3);
});

t("schema rejects unknown keys", () => {
  const [bundle] = splitObjects([EXAMPLE_IDENTITY]).bundles;
  const message = {
    ...queueMessage(bundle, { applicantId: null, sequence: 1 }),
    no_split: true,
  };

  assert.not.ok(queueMessageSchema.safeParse(message).success);
});

t("python layout and separators", () => {
  const text = pythonJsonDumps({ a: [1, "x", null, true], b: { c: {} } });

  assert.is(text, '{"a": [1, "x", null, true], "b": {"c": {}}}');
});

t("python escapes outside ASCII", () => {
  assert.is(pythonJsonDumps("é"), '"\\u00e9"');
  assert.is(pythonJsonDumps("\u007f"), '"\\u007f"');
  assert.is(pythonJsonDumps("😀"), '"\\ud83d\\ude00"');
  assert.is(pythonJsonDumps("a\nb\t\u0001"), '"a\\nb\\t\\u0001"');
  assert.is(pythonJsonDumps({ "é": 1 }), '{"\\u00e9": 1}');
});

t("python dumps skips undefined", () => {
  assert.is(pythonJsonDumps({ a: undefined, b: 1 }), '{"b": 1}');
  assert.is(pythonJsonDumps([undefined]), "[null]");
});

t("python dumps round-trips", () => {
  const value = { text: 'Ünïcödé 😀 "quoted" \\', list: [1.5, -2, 0] };

  assert.equal(JSON.parse(pythonJsonDumps(value)), value);
});

t.run();
