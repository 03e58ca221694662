/**
 * Shared pieces of the mapper tests: fixture loading, default options and
 * lookups over mapped objects.
 */
import { join } from "node:path";
import * as assert from "uvu/assert";
import {
  type MappedThreat,
  type MappingContext,
  type MappingOptions,
  mapThreat,
} from "../../src/mapper/map_threat.ts";
import type { StixObject } from "../../src/stix/types.ts";

export const REPOSITORY_ROOT = new URL("../../", import.meta.url).pathname;

export const FIXTURES_DIR = join(REPOSITORY_ROOT, "tests/fixtures/threats");

/**
 * Phish fixtures, in a folder of their own so that the simulator, which
 * serves the top-level fixtures as malware threats, leaves them out.
 */
export const PHISH_FIXTURES_DIR = join(FIXTURES_DIR, "phish");

export const GOLDEN_DIR = join(REPOSITORY_ROOT, "tests/golden");

/** `../shared/samples/threathq` beside the repository. */
export const SHARED_SAMPLES_DIR = join(
  REPOSITORY_ROOT,
  "../shared/samples/threathq",
);

export const DEFAULT_OPTIONS: MappingOptions = {
  tlp: "amber+strict",
  impactToExclude: [],
  promoteIndicators: true,
};

/** Returns whether `../shared` is present; prints a notice when not. */
export function sharedSamplesPresent(): boolean {
  try {
    Deno.statSync(SHARED_SAMPLES_DIR);
    return true;
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    console.log("skipped: ../shared not found");
    return false;
  }
}

/**
 * Reads `tests/fixtures/threats/<name>.json` as a fresh object; `name` may
 * name a subfolder, as in `phish/full`.
 */
export function loadFixture(name: string): Record<string, unknown> {
  const path = join(FIXTURES_DIR, `${name}.json`);
  return JSON.parse(Deno.readTextFileSync(path));
}

/**
 * Maps a threat by its `threatType` and fails the test unless the mapping
 * succeeded.
 */
export function mapOk(
  raw: unknown,
  options: Partial<MappingOptions> = {},
  context?: MappingContext,
): MappedThreat {
  const result = mapThreat(
    raw,
    { ...DEFAULT_OPTIONS, ...options },
    context,
  );
  if (!result.ok) {
    assert.unreachable(
      `mapping failed: ${JSON.stringify(result.problems)}`,
    );
    throw new Error("unreachable");
  }
  return result.threat;
}

type ObjectOf<T extends StixObject["type"]> = Extract<StixObject, { type: T }>;

/** Lists the mapped objects of one STIX type. */
export function ofType<T extends StixObject["type"]>(
  objects: readonly StixObject[],
  type: T,
): ObjectOf<T>[] {
  return objects.filter((object): object is ObjectOf<T> =>
    object.type === type
  );
}

/** Returns the one object of a type that satisfies `predicate`. */
export function findOne<T extends StixObject["type"]>(
  objects: readonly StixObject[],
  type: T,
  predicate: (object: ObjectOf<T>) => boolean = () => true,
): ObjectOf<T> {
  const found = ofType(objects, type).filter(predicate);
  assert.is(found.length, 1, `expected one ${type}, found ${found.length}`);
  return found[0];
}

/** Lists the values of the observables of one type, such as url. */
export function valuesOf(
  objects: readonly StixObject[],
  type: "url" | "domain-name" | "ipv4-addr" | "email-addr",
): string[] {
  return ofType(objects, type).map((object) => object.value);
}

export function reportOf(threat: MappedThreat): ObjectOf<"report"> {
  return findOne(threat.objects, "report");
}

/** Replaces one value somewhere in a threat with `junk`, by a seeded walk. */
export function corrupt(value: unknown, junk: unknown, seed: number): unknown {
  const paths: Array<Array<string | number>> = [];
  const walk = (node: unknown, path: Array<string | number>) => {
    paths.push(path);
    if (Array.isArray(node)) {
      node.forEach((item, i) => walk(item, [...path, i]));
    } else if (typeof node === "object" && node !== null) {
      for (const [key, child] of Object.entries(node)) {
        walk(child, [...path, key]);
      }
    }
  };
  walk(value, []);

  const target = paths[1 + (seed % (paths.length - 1))];
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let node = copy;
  for (const key of target.slice(0, -1)) {
    node = node[key] as Record<string | number, unknown>;
  }
  node[target[target.length - 1]] = junk;
  return copy;
}
