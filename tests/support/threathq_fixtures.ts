/**
 * Loads threat objects for the simulator: the project's fixtures in
 * `tests/fixtures/threats/*.json` (one threat each) and the shared ThreatHQ
 * samples beside the repository (`../shared/samples/threathq`), whose files
 * are `threat/search` responses.
 */
import { join } from "node:path";

const REPOSITORY_ROOT = new URL("../../", import.meta.url).pathname;

/** The shared samples folder, or undefined when `../shared` is absent. */
export const SHARED_SAMPLES_DIR = join(
  REPOSITORY_ROOT,
  "../shared/samples/threathq",
);

async function jsonFiles(folder: string, prefix = ""): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(folder)) {
      if (
        entry.isFile && entry.name.endsWith(".json") &&
        entry.name.startsWith(prefix)
      ) names.push(join(folder, entry.name));
    }
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return names.sort();
}

/** Returns the project's fixture threats; none when the folder is absent. */
export async function loadFixtureThreats(): Promise<unknown[]> {
  const folder = join(REPOSITORY_ROOT, "tests/fixtures/threats");
  const threats: unknown[] = [];
  for (const path of await jsonFiles(folder)) {
    threats.push(JSON.parse(await Deno.readTextFile(path)));
  }
  return threats;
}

/**
 * Returns the threats of the shared `threat-search-*.json` samples, or
 * undefined when `../shared` is absent.
 */
export async function loadSharedSampleThreats(): Promise<
  unknown[] | undefined
> {
  const paths = await jsonFiles(SHARED_SAMPLES_DIR, "threat-search-");
  if (paths.length === 0) return undefined;

  const threats: unknown[] = [];
  for (const path of paths) {
    const body = JSON.parse(await Deno.readTextFile(path));
    threats.push(...(body?.data?.threats ?? []));
  }
  return threats;
}
