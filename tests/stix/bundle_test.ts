import { suite } from "uvu";
import * as assert from "uvu/assert";
import { makeBundle } from "../../src/stix/bundle.ts";
import { tlpMarking } from "../../src/stix/tlp.ts";
import { bundleSchema, type StixObject } from "../../src/stix/types.ts";

const t = suite("stix: bundle");

// uvu calls a function `expects` as a predicate on the thrown error.
const isTypeError = (error: unknown) => error instanceof TypeError;

const objects: StixObject[] = [tlpMarking("green"), tlpMarking("red")];

t("bundle has pycti's keys in order", () => {
  const bundle = makeBundle(
    objects,
    "bundle--0b9a6f3c-9a4a-4d8e-8f56-5d3b0a6c2e11",
  );

  assert.equal(Object.keys(bundle), ["type", "id", "spec_version", "objects"]);
  assert.is(bundle.type, "bundle");
  assert.is(bundle.id, "bundle--0b9a6f3c-9a4a-4d8e-8f56-5d3b0a6c2e11");
  assert.is(bundle.spec_version, "2.1");
  assert.equal(bundle.objects, objects);
});

t("bundle is valid STIX", () => {
  const result = bundleSchema.safeParse(makeBundle(objects));

  assert.ok(result.success, result.error?.message);
});

t("default id is a random v4 uuid", () => {
  const first = makeBundle([]).id;
  const second = makeBundle([]).id;

  assert.match(
    first,
    /^bundle--[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-/,
  );
  assert.is.not(first, second);
});

t("objects array is copied", () => {
  const list = [...objects];
  const bundle = makeBundle(list);
  list.pop();

  assert.is(bundle.objects.length, 2);
});

t("invalid id is rejected", () => {
  assert.throws(
    () => makeBundle(objects, "report--0b9a6f3c-9a4a-4d8e-8f56-5d3b0a6c2e11"),
    /"report--/,
  );
  assert.throws(() => makeBundle(objects, "bundle--1234"), isTypeError);
});

t.run();
