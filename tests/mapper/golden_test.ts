/**
 * Golden bundles: every project fixture (malware, and phish under
 * `phish/`) and every shared ThreatHQ sample threat, mapped and compared with `tests/golden/<case>.bundle.json` as
 * parsed JSON, in any object order. Regenerate after a deliberate change
 * with `UPDATE_GOLDEN=1 deno task test tests/mapper`, then review the diff.
 */
import { basename, join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import type {
  MappingContext,
  MappingOptions,
} from "../../src/mapper/map_threat.ts";
import { makeBundle } from "../../src/stix/bundle.ts";
import { danglingReferences } from "../../src/stix/references.ts";
import {
  bundleSchema,
  type StixObject,
  stixObjectSchema,
} from "../../src/stix/types.ts";
import {
  FIXTURES_DIR,
  GOLDEN_DIR,
  mapOk,
  PHISH_FIXTURES_DIR,
  SHARED_SAMPLES_DIR,
  sharedSamplesPresent,
} from "./mapping_helpers.ts";

const t = suite("mapper: golden bundles");

const GOLDEN_BUNDLE_ID = "bundle--00000000-0000-4000-8000-000000000000";

const UPDATE = Deno.env.get("UPDATE_GOLDEN") === "1";

interface GoldenCase {
  name: string;
  raw: unknown;
  options?: Partial<MappingOptions>;
  context?: MappingContext;
}

/** Fixtures mapped with settings or context other than the defaults. */
const VARIANTS: GoldenCase[] = [
  {
    name: "full-malware.no-indicators",
    raw: "full-malware",
    options: { promoteIndicators: false, tlp: "green" },
  },
  {
    name: "full-malware.attachment",
    raw: "full-malware",
    context: {
      attachments: [{
        name: "900001.pdf",
        mimeType: "application/pdf",
        data: new TextEncoder().encode("%PDF-1.4 example\n"),
      }],
    },
  },
  {
    name: "impacts.excluded",
    raw: "impacts",
    options: { impactToExclude: ["Minor", "None"], tlp: "red" },
  },
  {
    name: "vulnerabilities.excluded",
    raw: "vulnerabilities",
    options: { impactToExclude: ["Minor"] },
  },
  {
    name: "phish-full.screenshot",
    raw: "phish/full",
    context: {
      attachments: [{
        name: "800001.png",
        mimeType: "image/png",
        data: Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      }],
    },
  },
  {
    name: "phish-full.no-indicators",
    raw: "phish/full",
    options: { promoteIndicators: false },
  },
];

/** Changelog times for fixtures that carry no publication date. */
const CHANGELOG_TIMES: Record<string, number> = {
  "no-dates": 1720000000000,
};

function readJson(path: string): unknown {
  return JSON.parse(Deno.readTextFileSync(path));
}

function jsonFiles(folder: string): string[] {
  return [...Deno.readDirSync(folder)]
    .filter((entry) => entry.isFile && entry.name.endsWith(".json"))
    .map((entry) => join(folder, entry.name))
    .sort();
}

function fixtureCases(folder: string, prefix: string): GoldenCase[] {
  return jsonFiles(folder).map((path) => {
    const name = prefix + basename(path, ".json");
    const changelogTime = CHANGELOG_TIMES[name];
    return {
      name,
      raw: readJson(path),
      context: changelogTime === undefined ? undefined : { changelogTime },
    };
  });
}

function projectCases(): GoldenCase[] {
  const cases = [
    ...fixtureCases(FIXTURES_DIR, ""),
    ...fixtureCases(PHISH_FIXTURES_DIR, "phish-"),
  ];
  const variants = VARIANTS.map((variant) => ({
    ...variant,
    raw: readJson(join(FIXTURES_DIR, `${variant.raw}.json`)),
  }));
  return [...cases, ...variants];
}

/** Lists one case per threat of each `threat-search-*.json` sample. */
function sharedCases(): GoldenCase[] {
  const cases: GoldenCase[] = [];
  const files = jsonFiles(SHARED_SAMPLES_DIR)
    .filter((path) => basename(path).startsWith("threat-search-"));

  for (const path of files) {
    const stem = basename(path, ".json");
    const response = readJson(path) as { data: { threats: unknown[] } };
    const seen = new Map<string, number>();

    for (const threat of response.data.threats) {
      const id = String((threat as { id: unknown }).id);
      const count = (seen.get(id) ?? 0) + 1;
      seen.set(id, count);
      const suffix = count > 1 ? `-${count}` : "";
      cases.push({ name: `shared-${stem}-${id}${suffix}`, raw: threat });
    }
  }
  return cases;
}

function compareIds(a: StixObject, b: StixObject): number {
  if (a.id === b.id) return 0;
  return a.id < b.id ? -1 : 1;
}

function byId(objects: readonly StixObject[]): StixObject[] {
  return [...objects].sort(compareIds);
}

function goldenPath(name: string): string {
  return join(GOLDEN_DIR, `${name}.bundle.json`);
}

function checkCase(golden: GoldenCase): void {
  const mapped = mapOk(golden.raw, golden.options, golden.context);
  const bundle = JSON.parse(
    JSON.stringify(makeBundle(mapped.objects, GOLDEN_BUNDLE_ID)),
  );

  for (const object of bundle.objects) {
    const parsed = stixObjectSchema.safeParse(object);
    assert.ok(
      parsed.success,
      `${golden.name}: ${object.id} ${JSON.stringify(parsed.error?.issues)}`,
    );
  }
  assert.ok(bundleSchema.safeParse(bundle).success, golden.name);
  assert.equal(danglingReferences(bundle.objects), [], golden.name);

  const path = goldenPath(golden.name);
  if (UPDATE) {
    Deno.writeTextFileSync(path, JSON.stringify(bundle, null, 2) + "\n");
    return;
  }

  let expected;
  try {
    expected = readJson(path) as { objects: StixObject[] };
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    assert.unreachable(
      `${path} is missing; create it with UPDATE_GOLDEN=1 deno task test tests/mapper`,
    );
    return;
  }
  assert.equal(
    { ...bundle, objects: byId(bundle.objects) },
    { ...expected, objects: byId(expected.objects) },
    golden.name,
  );
}

const PROJECT_CASES = projectCases();

for (const golden of PROJECT_CASES) {
  t(`project ${golden.name}`, () => checkCase(golden));
}

if (sharedSamplesPresent()) {
  for (const golden of sharedCases()) {
    t(`shared ${golden.name}`, () => checkCase(golden));
  }
} else {
  t.skip("shared ThreatHQ samples", () => {});
}

t("no golden without a project case", () => {
  const names = new Set(PROJECT_CASES.map((golden) => golden.name));
  const stale = jsonFiles(GOLDEN_DIR)
    .map((path) => basename(path, ".bundle.json"))
    .filter((name) => !name.startsWith("shared-") && !names.has(name));

  assert.equal(stale, []);
});

t.run();
