/**
 * Runs every uvu suite under Deno in one process and prints a closing line
 * `N passed, N failed, N skipped`. The exit status is 1 when any test failed.
 *
 * Usage: `deno task test [PATH ...]`, where each path is a test file or a
 * folder searched for `*_test.ts` files (default: the `tests/` folder).
 */
import { relative, resolve } from "node:path";

type Outcome = [
  errors: string | true,
  passed: number,
  skipped: number,
  total: number,
];
type QueuedSuite = () => Promise<Outcome>;

interface UvuGlobals {
  UVU_DEFER?: number;
  UVU_INDEX?: number;
  UVU_QUEUE?: Array<Array<string | QueuedSuite | null>>;
}

async function findTestFiles(root: string): Promise<string[]> {
  const info = await Deno.stat(root);
  if (info.isFile) return [root];

  const found: string[] = [];
  for await (const entry of Deno.readDir(root)) {
    const path = resolve(root, entry.name);
    if (entry.isDirectory) found.push(...await findTestFiles(path));
    else if (entry.name.endsWith("_test.ts")) found.push(path);
  }
  return found.sort();
}

async function main(args: string[]): Promise<number> {
  const roots = args.length > 0
    ? args
    : [new URL(".", import.meta.url).pathname];
  const files: string[] = [];
  for (const root of roots) files.push(...await findTestFiles(resolve(root)));

  // With UVU_DEFER set, uvu queues each suite's `run()` instead of running it,
  // so this runner decides the order and reads every suite's counts.
  const uvu = globalThis as UvuGlobals;
  uvu.UVU_DEFER = 1;
  uvu.UVU_QUEUE = [];
  files.forEach((file, index) => {
    uvu.UVU_QUEUE![index] = [relative(Deno.cwd(), file)];
  });
  for (const [index, file] of files.entries()) {
    uvu.UVU_INDEX = index;
    await import(`file://${file}`);
  }

  let passed = 0;
  let failed = 0;
  let skipped = 0;
  const write = (text: string) =>
    Deno.stdout.writeSync(new TextEncoder().encode(text));
  for (const group of uvu.UVU_QUEUE) {
    const [name, ...suites] = group;
    write(`${name}\n`);
    for (const run of suites as QueuedSuite[]) {
      const [errors, suitePassed, suiteSkipped, total] = await run();
      passed += suitePassed;
      skipped += suiteSkipped;
      failed += total - suitePassed;
      if (errors !== true) write(`\n${errors}\n`);
    }
  }

  write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  return failed > 0 ? 1 : 0;
}

Deno.exit(await main(Deno.args));
