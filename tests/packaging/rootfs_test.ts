/**
 * The container image's file set, run without a container engine. The tests
 * assemble it with scripts/rootfs.ts around the Deno runtime, a stand-in for
 * the compiled executable. Both are dynamically linked glibc programs, and
 * in the Dockerfile `ldd` of the real executable picks its libraries. Then
 * the tests run the program in the root with chroot as the image's user.
 *
 * They need root for mount namespaces. Assembling copies about 120 MB into a
 * temporary folder, which the last hook deletes.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { basename, join } from "node:path";
import { VERSION } from "../../src/version.ts";
import {
  demoSettings,
  runFinishedCounts,
  startDemoSimulator,
  summarizeOutput,
} from "../../scripts/demo.ts";
import {
  assembleStandIn,
  CA_BUNDLE,
  DATA_DIRECTORY,
  IMAGE_USER,
  listRootfs,
  parseLdd,
  type RootfsRunResult,
  runInRootfs,
  sharedLibraries,
  STAND_IN_ENV,
  standInCommand,
} from "../../scripts/rootfs.ts";
import { PROJECT_ROOT, requirementMet, runsAsRoot } from "./host_tools.ts";

const t = suite("packaging: rootfs");

const LDD_OUTPUT = `	linux-vdso.so.1 (0x00007ffd6b5f2000)
	libdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007f0e60ac8000)
	libgcc_s.so.1 => /lib/x86_64-linux-gnu/libgcc_s.so.1 (0x00007f0e60aa8000)
	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0e5a93e000)
	/lib64/ld-linux-x86-64.so.2 (0x00007f0e60ae0000)
`;

t("ldd output lists libraries and loader", () => {
  assert.equal(parseLdd(LDD_OUTPUT), [
    "/lib/x86_64-linux-gnu/libdl.so.2",
    "/lib/x86_64-linux-gnu/libgcc_s.so.1",
    "/lib/x86_64-linux-gnu/libc.so.6",
    "/lib64/ld-linux-x86-64.so.2",
  ]);
});

t("ldd missing library raises", () => {
  const output = LDD_OUTPUT + "\tlibfoo.so.1 => not found\n";
  assert.throws(() => parseLdd(output), /libfoo\.so\.1 not found/);
});

t("ldd unexpected line raises", () => {
  assert.throws(
    () => parseLdd("\tstatically linked\n"),
    /unexpected output line "statically linked"/,
  );
});

// The input of convert, copied to /input in the root.
const THREAT_FILE = join(PROJECT_ROOT, "tests/packaging/threat.json");

const canChroot = requirementMet(
  runsAsRoot(),
  "rootfs chroot tests need root (mount namespaces and chroot)",
);
const chrootTest = canChroot ? t : t.skip;

let workspace = "";
let root = "";
let data = "";

t.before(async () => {
  if (!canChroot) return;
  workspace = await Deno.makeTempDir({ prefix: "threathq-rootfs-test-" });
  root = join(workspace, "root");
  data = join(workspace, "data");
  await Deno.mkdir(data);
  await assembleStandIn(root, PROJECT_ROOT);
  await Deno.mkdir(join(root, "input"));
  await Deno.copyFile(THREAT_FILE, join(root, "input", basename(THREAT_FILE)));
});

t.after(async () => {
  if (workspace !== "") await Deno.remove(workspace, { recursive: true });
});

/** Runs `threathq-connector ARGS` (the stand-in) inside the root. */
function runProgram(
  args: string[],
  env: Record<string, string> = {},
): Promise<RootfsRunResult> {
  return runInRootfs(root, {
    command: standInCommand(args),
    dataDirectory: data,
    env: { ...STAND_IN_ENV, ...env },
  });
}

/** Runs a probe script with the stand-in runtime, all file access allowed. */
function runProbe(code: string): Promise<RootfsRunResult> {
  return runInRootfs(root, {
    command: [
      "/usr/local/bin/deno",
      "eval",
      "--no-prompt",
      "--allow-read",
      "--allow-write",
      code,
    ],
    dataDirectory: data,
    env: STAND_IN_ENV,
  });
}

chrootTest("root holds the image file set", async () => {
  const files = await listRootfs(root);

  for (const path of ["/etc/passwd", "/etc/group", "/etc/nsswitch.conf"]) {
    assert.ok(files.includes(path), `${path} missing`);
  }
  assert.ok(files.includes(CA_BUNDLE), `${CA_BUNDLE} missing`);
  assert.ok(files.includes("/usr/local/bin/deno"));
  for (const library of await sharedLibraries(Deno.execPath())) {
    assert.ok(files.includes(library), `${library} missing`);
  }

  const passwd = await Deno.readTextFile(join(root, "etc/passwd"));
  assert.match(passwd, `:${IMAGE_USER.uid}:${IMAGE_USER.gid}:`);
  const tmp = await Deno.stat(join(root, "tmp"));
  assert.is(tmp.mode! & 0o7777, 0o1777);
  const dataDirectory = await Deno.stat(join(root, DATA_DIRECTORY));
  assert.is(dataDirectory.uid, IMAGE_USER.uid);
  assert.is(dataDirectory.mode! & 0o777, 0o700);
});

chrootTest("program prints its version", async () => {
  const result = await runProgram(["--version"]);

  assert.is(result.code, 0, result.stderr);
  assert.is(result.stdout, `threathq-connector ${VERSION}\n`);
});

chrootTest("program converts a threat", async () => {
  const result = await runProgram(
    ["convert", "/input/threat.json"],
    { COFENSE_THREATHQ_TLP_LEVEL: "green" },
  );

  assert.is(result.code, 0, result.stderr);
  const bundle = JSON.parse(result.stdout);
  assert.is(bundle.type, "bundle");
  const types = bundle.objects.map((object: { type: string }) => object.type);
  assert.ok(types.includes("report"), `no report in ${types.join(",")}`);
});

chrootTest("program runs the demo into the data directory", async () => {
  const demo = await startDemoSimulator({ generatedThreats: 30 });
  try {
    const result = await runProgram(
      ["run"],
      demoSettings({
        simulator: demo.simulator,
        outputDirectory: DATA_DIRECTORY,
      }),
    );

    assert.is(result.code, 0, result.stderr);
    const summary = await summarizeOutput(data);
    assert.ok(summary.files.length > 0, "no bundle file written");
    assert.ok(summary.reports > 0, "no report in the bundles");
    const counts = runFinishedCounts(result.stderr);
    assert.ok((counts?.threats_mapped ?? 0) > 0, result.stderr.slice(-2000));
  } finally {
    await demo.close();
  }
});

chrootTest("program runs as the image user", async () => {
  const result = await runProbe(
    'console.log(Deno.readTextFileSync("/proc/self/status"))',
  );

  assert.is(result.code, 0, result.stderr);
  const uid = String(IMAGE_USER.uid);
  const gid = String(IMAGE_USER.gid);
  assert.match(result.stdout, `Uid:\t${[uid, uid, uid, uid].join("\t")}\n`);
  assert.match(result.stdout, `Gid:\t${[gid, gid, gid, gid].join("\t")}\n`);
  assert.match(result.stdout, /^Groups:[\t ]*$/m);
});

chrootTest("root is read-only but tmp and data", async () => {
  const result = await runProbe(`
    const outcome = (path) => {
      try { Deno.writeTextFileSync(path, "x"); return "written"; }
      catch (error) { return error.message; }
    };
    console.log(JSON.stringify({
      app: outcome("/app/probe"),
      etc: outcome("/etc/probe"),
      tmp: outcome("/tmp/probe"),
      data: outcome("${DATA_DIRECTORY}/probe"),
    }));
  `);

  assert.is(result.code, 0, result.stderr);
  const outcome = JSON.parse(result.stdout);
  assert.match(outcome.app, "Read-only file system");
  assert.match(outcome.etc, "Read-only file system");
  assert.is(outcome.tmp, "written");
  assert.is(outcome.data, "written");
  await Deno.remove(join(data, "probe"));
});

chrootTest("missing library fails the run", async () => {
  const libraries = await sharedLibraries(Deno.execPath());
  const library = libraries.find((path) => path.includes("libgcc_s"));
  assert.ok(library !== undefined, `no libgcc_s in ${libraries.join(", ")}`);

  const inRoot = join(root, library);
  await Deno.rename(inRoot, `${inRoot}.removed`);
  try {
    const result = await runProgram(["--version"]);

    assert.is(result.code, 127);
    assert.match(result.stderr, "error while loading shared libraries");
    assert.match(result.stderr, basename(library));
  } finally {
    await Deno.rename(`${inRoot}.removed`, inRoot);
  }
});

t.run();
