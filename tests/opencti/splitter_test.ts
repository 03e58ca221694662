import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  InvalidBundleError,
  isIdSupported,
  type JsonObject,
  splitBundle,
  splitObjects,
} from "../../src/opencti/splitter.ts";

const t = suite("opencti: splitter");

const IDENTITY = "identity--69f1df30-eb2f-5845-88e0-64e2d05ab72e";
const GREEN = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da";
const IPV4 = "ipv4-addr--ff7b1f86-0a38-5ac7-8f5c-5a4c9b1e2a11";
const MISSING_MALWARE = "malware--2f8a0b7c-9e1d-5f3a-8b6c-4d2e1f0a9b8c";
const REPORT = "report--5b3c9d1e-7f2a-5c4b-9e8d-1a2b3c4d5e6f";
const RELATIONSHIP = "relationship--8d7c6b5a-4e3f-4a2b-9c1d-0e9f8a7b6c5d";
const URL_U = "https://www.threathq.com/api/l/threatpage?t=1";

/**
 * Returns the objects of pycti 6.9.17's check run: a report citing an ipv4, the
 * author and a malware missing from the bundle, and a relationship from
 * the ipv4 to that malware.
 */
function checkRunObjects(): JsonObject[] {
  return [
    {
      type: "report",
      spec_version: "2.1",
      id: REPORT,
      name: "Check run",
      published: "2024-01-15T10:30:00.000Z",
      created_by_ref: IDENTITY,
      object_marking_refs: [GREEN],
      object_refs: [IPV4, IDENTITY, MISSING_MALWARE],
      external_references: [
        { source_name: "no url" },
        { source_name: "Cofense", url: URL_U },
        { source_name: "Cofense again", url: URL_U },
      ],
    },
    {
      type: "ipv4-addr",
      spec_version: "2.1",
      id: IPV4,
      value: "198.51.100.7",
      x_opencti_created_by_ref: IDENTITY,
      object_marking_refs: [GREEN],
    },
    {
      type: "identity",
      spec_version: "2.1",
      id: IDENTITY,
      name: "Example Corp",
      identity_class: "organization",
    },
    {
      type: "marking-definition",
      spec_version: "2.1",
      id: GREEN,
      created: "2017-01-20T00:00:00.000Z",
      definition_type: "tlp",
      name: "TLP:GREEN",
      definition: { tlp: "green" },
    },
    {
      type: "relationship",
      spec_version: "2.1",
      id: RELATIONSHIP,
      relationship_type: "related-to",
      source_ref: IPV4,
      target_ref: MISSING_MALWARE,
    },
  ];
}

function onlyObject(bundle: { objects: JsonObject[] }): JsonObject {
  assert.is(bundle.objects.length, 1);
  return bundle.objects[0];
}

function orderOf(result: ReturnType<typeof splitObjects>) {
  return result.bundles.map((bundle) => {
    const object = onlyObject(bundle);
    return [object.id, object.nb_deps, bundle.x_opencti_seq];
  });
}

t("check run without cleanup", () => {
  const result = splitObjects(checkRunObjects(), {
    cleanupInconsistentBundle: false,
  });

  assert.equal(orderOf(result), [
    [IDENTITY, 1, 1],
    [GREEN, 1, 1],
    [IPV4, 3, 3],
    [RELATIONSHIP, 4, 4],
    [REPORT, 7, 7],
  ]);
  assert.is(result.expectations, 5);
  assert.equal(result.incompatible, []);
});

t("check run with cleanup", () => {
  const result = splitObjects(checkRunObjects(), {
    cleanupInconsistentBundle: true,
  });

  assert.equal(orderOf(result), [
    [IDENTITY, 1, 1],
    [GREEN, 1, 1],
    [IPV4, 3, 3],
    [REPORT, 7, 7],
  ]);
  assert.is(result.expectations, 4);
  assert.is(result.incompatible.length, 1);
  assert.is(result.incompatible[0].id, RELATIONSHIP);
  assert.is(result.incompatible[0].target_ref, null);
});

t("cleanup is the default", () => {
  const result = splitObjects(checkRunObjects());

  assert.is(result.expectations, 4);
});

t("missing reference kept without cleanup", () => {
  const result = splitObjects(checkRunObjects(), {
    cleanupInconsistentBundle: false,
  });
  const report = onlyObject(result.bundles[4]);

  assert.equal(report.object_refs, [IPV4, IDENTITY, MISSING_MALWARE]);
  assert.is(report.created_by_ref, IDENTITY);
});

t("missing reference removed with cleanup", () => {
  const result = splitObjects(checkRunObjects());
  const report = onlyObject(result.bundles[3]);

  assert.equal(report.object_refs, [IPV4, IDENTITY]);
  assert.equal(report.object_marking_refs, [GREEN]);
});

t("external references deduplicated", () => {
  for (const cleanup of [false, true]) {
    const result = splitObjects(checkRunObjects(), {
      cleanupInconsistentBundle: cleanup,
    });
    const report = result.bundles.map(onlyObject).find((object) =>
      object.id === REPORT
    )!;

    assert.equal(report.external_references, [
      { source_name: "Cofense", url: URL_U },
    ]);
  }
});

t("external reference identity rules", () => {
  const [indicator] = splitObjects([{
    type: "indicator",
    id: "indicator--0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0",
    external_references: [
      { source_name: "a", external_id: "1" },
      { source_name: "a", external_id: "1", description: "repeat" },
      { source_name: "b", external_id: "1" },
      { source_name: "a", url: "" },
      { source_name: "c", url: "" },
      { external_id: "2" },
    ],
  }]).bundles.map(onlyObject);

  assert.equal(indicator.external_references, [
    { source_name: "a", external_id: "1" },
    { source_name: "b", external_id: "1" },
    { source_name: "a", url: "" },
  ]);
});

t("kill chain phases deduplicated", () => {
  const [pattern] = splitObjects([{
    type: "attack-pattern",
    id: "attack-pattern--0a1b2c3d-4e5f-5a6b-8c7d-9e0f1a2b3c4d",
    kill_chain_phases: [
      { kill_chain_name: "mitre-attack", phase_name: "execution" },
      { kill_chain_name: "mitre-attack", phase_name: "execution" },
      { kill_chain_name: "lockheed", phase_name: "execution" },
      { phase_name: "execution" },
      { phase_name: "execution", kill_chain_name: null },
    ],
  }]).bundles.map(onlyObject);

  assert.equal(pattern.kill_chain_phases, [
    { kill_chain_name: "mitre-attack", phase_name: "execution" },
    { kill_chain_name: "lockheed", phase_name: "execution" },
    { phase_name: "execution" },
  ]);
});

t("parts keep the bundle id", () => {
  const result = splitObjects(checkRunObjects(), {
    bundleId: "bundle--00000000-0000-4000-8000-000000000000",
  });

  for (const bundle of result.bundles) {
    assert.is(bundle.id, "bundle--00000000-0000-4000-8000-000000000000");
    assert.is(bundle.type, "bundle");
    assert.is(bundle.spec_version, "2.1");
    assert.equal(Object.keys(bundle), [
      "type",
      "id",
      "spec_version",
      "x_opencti_seq",
      "objects",
    ]);
  }
});

t("event version on every part", () => {
  const result = splitObjects(checkRunObjects(), { eventVersion: "4" });

  for (const bundle of result.bundles) {
    assert.is(bundle.x_opencti_event_version, "4");
  }
});

t("new bundle id when none given", () => {
  const first = splitObjects(checkRunObjects()).bundles[0].id;
  const second = splitObjects(checkRunObjects()).bundles[0].id;

  assert.match(first, /^bundle--[0-9a-f-]{36}$/);
  assert.is.not(first, second);
});

t("input objects stay unchanged", () => {
  const objects = checkRunObjects();
  const before = structuredClone(objects);
  splitObjects(objects);

  assert.equal(objects, before);
});

t("nb_deps added as the last key", () => {
  const result = splitObjects(checkRunObjects());
  const identity = onlyObject(result.bundles[0]);

  assert.equal(Object.keys(identity), [
    "type",
    "spec_version",
    "id",
    "name",
    "identity_class",
    "nb_deps",
  ]);
});

t("cycle between two objects", () => {
  const first = "note--11111111-1111-5111-8111-111111111111";
  const second = "note--22222222-2222-5222-8222-222222222222";
  const result = splitObjects([
    { type: "note", id: first, object_refs: [second] },
    { type: "note", id: second, object_refs: [first] },
  ]);
  const [a, b] = result.bundles.map(onlyObject);

  // The walk starts at the first note and follows it to the second, whose
  // reference back to the first is dropped.
  assert.is(a.id, second);
  assert.is(a.nb_deps, 1);
  assert.equal(a.object_refs, []);
  assert.is(b.id, first);
  assert.is(b.nb_deps, 2);
  assert.equal(b.object_refs, [second]);
});

t("single reference back becomes null", () => {
  const identity = "identity--33333333-3333-5333-8333-333333333333";
  const other = "identity--44444444-4444-5444-8444-444444444444";
  const result = splitObjects([
    { type: "identity", id: identity, created_by_ref: other },
    { type: "identity", id: other, created_by_ref: identity },
  ]);
  const [a, b] = result.bundles.map(onlyObject);

  assert.is(a.id, other);
  assert.is(a.created_by_ref, null);
  assert.is(b.id, identity);
  assert.is(b.created_by_ref, other);
  assert.is(b.nb_deps, 2);
});

t("self reference removed", () => {
  const id = "identity--55555555-5555-5555-8555-555555555555";
  const [identity] = splitObjects([
    { type: "identity", id, created_by_ref: id, object_marking_refs: [id] },
  ]).bundles.map(onlyObject);

  assert.is(identity.created_by_ref, null);
  assert.equal(identity.object_marking_refs, []);
  assert.is(identity.nb_deps, 1);
});

t("unsupported reference types", () => {
  const [indicator] = splitObjects([{
    type: "indicator",
    id: "indicator--66666666-6666-5666-8666-666666666666",
    created_by_ref: "x-unknown--77777777-7777-5777-8777-777777777777",
    object_marking_refs: [
      "x-unknown--77777777-7777-5777-8777-777777777777",
      GREEN,
    ],
  }], { cleanupInconsistentBundle: false }).bundles.map(onlyObject);

  assert.is(indicator.created_by_ref, null);
  assert.equal(indicator.object_marking_refs, [GREEN]);
  // The marking is missing from the bundle, so it counts 0.
  assert.is(indicator.nb_deps, 1);
});

t("duplicate references kept once", () => {
  const result = splitObjects([
    {
      type: "report",
      id: REPORT,
      object_refs: [IDENTITY, IDENTITY, GREEN],
    },
    { type: "identity", id: IDENTITY },
    { type: "marking-definition", id: GREEN },
  ]);
  const report = onlyObject(result.bundles[2]);

  assert.equal(report.object_refs, [IDENTITY, GREEN]);
  // pycti counts each listed reference, the repeated one too.
  assert.is(report.nb_deps, 4);
});

t("null reference list left alone", () => {
  const [report] = splitObjects([
    { type: "report", id: REPORT, object_refs: null, created_by_ref: null },
  ]).bundles.map(onlyObject);

  assert.is(report.object_refs, null);
  assert.is(report.created_by_ref, null);
  assert.is(report.nb_deps, 1);
});

t("reference through an internal id", () => {
  const internal = "c1f5a8e2-9b7d-4e3c-a6f1-2d8b0e4c7a95";
  const result = splitObjects([
    { type: "identity", id: IDENTITY, x_opencti_id: internal },
    {
      type: "indicator",
      id: "indicator--88888888-8888-5888-8888-888888888888",
      created_by_ref: internal,
    },
  ]);
  const [identity, indicator] = result.bundles.map(onlyObject);

  assert.is(identity.id, IDENTITY);
  assert.is(indicator.created_by_ref, internal);
  assert.is(indicator.nb_deps, 2);
});

t("reference through extension id", () => {
  const internal = "d2a6b9f3-8c1e-4f7d-b5a2-3e9c1f5d8b06";
  const result = splitObjects([
    {
      type: "indicator",
      id: "indicator--99999999-9999-5999-8999-999999999999",
      created_by_ref: internal,
    },
    {
      type: "identity",
      id: IDENTITY,
      extensions: {
        "extension-definition--ea279b3e-5c71-4632-ac08-831c66a786ba": {
          id: internal,
        },
      },
    },
  ]);
  const ids = result.bundles.map((bundle) => onlyObject(bundle).id);

  // The walk reaches the identity first through its internal id. The walk
  // from its STIX id then finds it again, as in pycti, so it is sent twice.
  assert.equal(ids, [
    IDENTITY,
    IDENTITY,
    "indicator--99999999-9999-5999-8999-999999999999",
  ]);
  assert.is(result.expectations, 3);
});

t("sighting needs its references", () => {
  const result = splitObjects([
    {
      type: "sighting",
      id: "sighting--aaaaaaaa-aaaa-5aaa-8aaa-aaaaaaaaaaaa",
      sighting_of_ref: IPV4,
      where_sighted_refs: [IDENTITY],
    },
    { type: "ipv4-addr", id: IPV4 },
    { type: "identity", id: IDENTITY },
    {
      type: "sighting",
      id: "sighting--bbbbbbbb-bbbb-5bbb-8bbb-bbbbbbbbbbbb",
      sighting_of_ref: IPV4,
      where_sighted_refs: [MISSING_MALWARE],
    },
  ]);
  const sent = result.bundles.map((bundle) => onlyObject(bundle).id);

  assert.equal(sent, [
    IPV4,
    IDENTITY,
    "sighting--aaaaaaaa-aaaa-5aaa-8aaa-aaaaaaaaaaaa",
  ]);
  assert.is(
    result.incompatible[0].id,
    "sighting--bbbbbbbb-bbbb-5bbb-8bbb-bbbbbbbbbbbb",
  );
});

t("unsupported object not sent", () => {
  const result = splitObjects([
    { type: "x-custom", id: "x-custom--cccccccc-cccc-5ccc-8ccc-cccccccccccc" },
    { type: "identity", id: IDENTITY },
  ]);

  assert.is(result.expectations, 1);
  assert.is(result.incompatible.length, 1);
  assert.is(result.incompatible[0].nb_deps, 1);
});

t("duplicate ids sent once", () => {
  const result = splitObjects([
    { type: "identity", id: IDENTITY, name: "first" },
    { type: "identity", id: IDENTITY, name: "second" },
  ]);

  assert.is(result.expectations, 1);
  assert.is(onlyObject(result.bundles[0]).name, "second");
});

t("equal counts keep input order", () => {
  const ids = [
    "identity--dddddddd-dddd-5ddd-8ddd-dddddddddddd",
    "identity--eeeeeeee-eeee-5eee-8eee-eeeeeeeeeeee",
    "identity--ffffffff-ffff-5fff-8fff-ffffffffffff",
  ];
  const result = splitObjects(ids.map((id) => ({ type: "identity", id })));

  assert.equal(result.bundles.map((bundle) => onlyObject(bundle).id), ids);
});

t("empty page gives no bundles", () => {
  const result = splitObjects([]);

  assert.is(result.expectations, 0);
  assert.equal(result.bundles, []);
});

t("invalid bundle rejected", () => {
  assert.throws(
    () => splitBundle({ type: "bundle" }),
    (error: unknown) =>
      error instanceof InvalidBundleError && /objects/.test(error.message),
  );
  assert.throws(
    () => splitBundle({ objects: [{ type: "identity" }] }),
    (error: unknown) =>
      error instanceof InvalidBundleError &&
      /objects\.0\.id/.test(error.message),
  );
});

t("bundle without id gets one", () => {
  const result = splitBundle({ objects: [{ type: "identity", id: IDENTITY }] });

  assert.match(result.bundles[0].id, /^bundle--[0-9a-f-]{36}$/);
});

t("supported id types", () => {
  assert.ok(isIdSupported(IDENTITY));
  assert.ok(isIdSupported("relationship--1"));
  assert.ok(isIdSupported("pir--1"));
  assert.ok(isIdSupported("no-separator"));
  assert.not.ok(isIdSupported("x-unknown--1"));
  assert.not.ok(isIdSupported("bundle--1"));
});

t.run();
