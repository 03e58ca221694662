/**
 * The root file system of the container image, assembled in one place.
 *
 *     deno run -A scripts/rootfs.ts assemble ROOT EXECUTABLE
 *     sudo deno run -A scripts/rootfs.ts check [--input FILE]... -- ARGS...
 *
 * `assemble` writes the final stage's files into ROOT, and the Dockerfile's
 * build stage runs it, so the image contains exactly what this module lists.
 * `check` verifies that file set without a container engine. It assembles
 * a root around the Deno runtime as a stand-in for the executable, adds the
 * project's modules and their cached npm packages, and runs
 * `threathq-connector ARGS` inside it. The run uses chroot(2) as the
 * image's unprivileged user with a read-only root, like `docker run
 * --read-only --tmpfs /tmp`. Each `--input FILE` is copied to
 * `/input/<name>` first. `check` needs root for mount namespaces.
 */
import { basename, dirname, join } from "node:path";
import { permissionFlags } from "./permissions.ts";

/** The image's unprivileged user, with the id of distroless's `nonroot`. */
export const IMAGE_USER = { name: "connector", uid: 65532, gid: 65532 };

/** The executable's path in the image, the same as the README installs to. */
export const EXECUTABLE_PATH = "/usr/local/bin/threathq-connector";

/** The working directory, where a mounted `config.yml` or `.env` is found. */
export const CONFIG_DIRECTORY = "/etc/threathq-connector";

/** The only directory the image's user owns: bundle output and state. */
export const DATA_DIRECTORY = "/var/lib/threathq-connector";

/** Debian's CA bundle, for DENO_TLS_CA_STORE=system or NODE_EXTRA_CA_CERTS. */
export const CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

/** The environment `docker run` starts with when the image sets no PATH. */
export const CONTAINER_PATH =
  "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

const STAND_IN_RUNTIME = "/usr/local/bin/deno";
const STAND_IN_PROJECT = "/app";
const STAND_IN_DENO_DIR = "/deno-dir";
const PROJECT_FILES = ["mod.ts", "deno.json", "deno.lock", "src"];

/**
 * Parses `ldd` output into the absolute paths of the loader and of every
 * shared library, in the order listed. The kernel's vDSO has no file and is
 * left out. A library that ldd marks "not found" raises an error.
 */
export function parseLdd(output: string): string[] {
  const paths: string[] = [];
  for (const line of output.split("\n")) {
    const text = line.trim();
    if (text === "" || text.startsWith("linux-vdso.so")) continue;

    const missing = text.match(/^(\S+) => not found$/);
    if (missing !== null) {
      throw new Error(`ldd: shared library ${missing[1]} not found`);
    }

    const linked = text.match(/^\S+ => (\/\S+) \(0x[0-9a-f]+\)$/);
    const loader = text.match(/^(\/\S+) \(0x[0-9a-f]+\)$/);
    const path = linked?.[1] ?? loader?.[1];
    if (path === undefined) {
      throw new Error(`ldd: unexpected output line "${text}"`);
    }
    paths.push(path);
  }
  return paths;
}

/** Lists the loader and shared libraries that `ldd` reports for a file. */
export async function sharedLibraries(executable: string): Promise<string[]> {
  const { code, stdout, stderr } = await new Deno.Command("ldd", {
    args: [executable],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  if (code !== 0) {
    throw new Error(
      `ldd ${executable} failed (${
        decoder.decode(stderr).trim()
      }); the executable must be a dynamically linked glibc binary`,
    );
  }
  return parseLdd(decoder.decode(stdout));
}

async function copyInto(root: string, source: string, target: string) {
  const destination = join(root, target);
  await Deno.mkdir(dirname(destination), { recursive: true });
  await Deno.copyFile(await Deno.realPath(source), destination);
}

function passwdText(): string {
  const { name, uid, gid } = IMAGE_USER;
  return [
    "root:x:0:0:root:/root:/sbin/nologin",
    `${name}:x:${uid}:${gid}:threathq-connector:/nonexistent:/sbin/nologin`,
    "",
  ].join("\n");
}

function groupText(): string {
  const { name, gid } = IMAGE_USER;
  return ["root:x:0:", `${name}:x:${gid}:`, ""].join("\n");
}

/**
 * Writes the image's root file system into `root`. It contains the
 * executable at `executablePath` and the loader and libraries that `ldd`
 * lists for it. It also contains the CA bundle, `/etc/nsswitch.conf`, and
 * `/etc/passwd` and `/etc/group` with the unprivileged user. The folders are
 * `/tmp` with mode 1777, the working directory, and the data directory,
 * which the user owns.
 */
export async function assembleRootfs(
  root: string,
  executable: string,
  executablePath = EXECUTABLE_PATH,
): Promise<void> {
  await Deno.mkdir(root, { recursive: true });
  await Deno.chmod(root, 0o755);

  await copyInto(root, executable, executablePath);
  await Deno.chmod(join(root, executablePath), 0o755);
  for (const library of await sharedLibraries(executable)) {
    await copyInto(root, library, library);
  }

  try {
    await copyInto(root, CA_BUNDLE, CA_BUNDLE);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new Error(
      `CA bundle ${CA_BUNDLE} not found; install the ca-certificates package`,
    );
  }

  // Without nsswitch.conf, glibc's default lookup order can skip /etc/hosts.
  // glibc 2.34 and later has the files and dns sources built in.
  await Deno.writeTextFile(
    join(root, "etc/nsswitch.conf"),
    "hosts: files dns\n",
  );
  await Deno.writeTextFile(join(root, "etc/passwd"), passwdText());
  await Deno.writeTextFile(join(root, "etc/group"), groupText());

  // The compiled runtime writes its V8 code cache to the temporary directory.
  await Deno.mkdir(join(root, "tmp"), { recursive: true });
  await Deno.chmod(join(root, "tmp"), 0o1777);

  await Deno.mkdir(join(root, CONFIG_DIRECTORY), { recursive: true });
  const data = join(root, DATA_DIRECTORY);
  await Deno.mkdir(data, { recursive: true });
  await Deno.chmod(data, 0o700);
  await Deno.chown(data, IMAGE_USER.uid, IMAGE_USER.gid);
}

/** Lists every file and symlink under `root` as an absolute image path. */
export async function listRootfs(root: string, under = ""): Promise<string[]> {
  const paths: string[] = [];
  for await (const entry of Deno.readDir(join(root, under))) {
    const path = `${under}/${entry.name}`;
    if (entry.isDirectory) paths.push(...await listRootfs(root, path));
    else paths.push(path);
  }
  return paths.sort();
}

async function hostDenoDir(): Promise<string> {
  const { code, stdout } = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).output();
  if (code !== 0) throw new Error("deno info --json failed");
  const info: unknown = JSON.parse(new TextDecoder().decode(stdout));
  const denoDir = (info as { denoDir?: unknown }).denoDir;
  if (typeof denoDir !== "string") {
    throw new Error("deno info --json printed no denoDir");
  }
  return denoDir;
}

/** Lists the `name@version` keys of deno.lock's npm section. */
function lockedNpmPackages(lockText: string): string[] {
  const lock: unknown = JSON.parse(lockText);
  const npm = (lock as { npm?: unknown }).npm;
  return typeof npm === "object" && npm !== null ? Object.keys(npm) : [];
}

async function copyTree(source: string, destination: string) {
  const { code } = await new Deno.Command("cp", {
    args: ["-a", source, destination],
  }).output();
  if (code !== 0) throw new Error(`cp -a ${source} ${destination} failed`);
}

/**
 * Seeds `denoDir` with the locked npm packages that the host's Deno cache
 * already has, then lets `deno cache` fetch anything missing.
 */
async function cacheModules(project: string, denoDir: string) {
  const hostNpm = join(await hostDenoDir(), "npm", "registry.npmjs.org");
  const npm = join(denoDir, "npm", "registry.npmjs.org");
  const lockText = await Deno.readTextFile(join(project, "deno.lock"));

  for (const key of lockedNpmPackages(lockText)) {
    const at = key.lastIndexOf("@");
    const name = key.slice(0, at);
    const version = key.slice(at + 1).split("_")[0];
    const source = join(hostNpm, name);
    try {
      await Deno.stat(join(source, version));
    } catch {
      continue;
    }
    await Deno.mkdir(join(npm, name), { recursive: true });
    await copyTree(join(source, version), join(npm, name, version));
    await copyTree(join(source, "registry.json"), join(npm, name));
  }

  const { code, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["cache", "--frozen", join(project, "mod.ts")],
    env: { DENO_DIR: denoDir },
    stdout: "null",
    stderr: "piped",
  }).output();
  if (code !== 0) {
    throw new Error(`deno cache failed: ${new TextDecoder().decode(stderr)}`);
  }
}

/**
 * Adds the stand-in for the compiled executable to an assembled root: the
 * project's modules at `/app` and their npm packages in `/deno-dir`. The
 * Deno runtime itself goes in with `assembleRootfs(root, Deno.execPath(),
 * "/usr/local/bin/deno")`.
 */
export async function addDenoProgram(root: string, project: string) {
  const app = join(root, STAND_IN_PROJECT);
  await Deno.mkdir(app, { recursive: true });
  for (const name of PROJECT_FILES) {
    await copyTree(join(project, name), join(app, name));
  }
  await cacheModules(app, join(root, STAND_IN_DENO_DIR));
}

/** Returns the stand-in's command line for `threathq-connector ARGS`. */
export function standInCommand(args: string[]): string[] {
  return [
    STAND_IN_RUNTIME,
    "run",
    "--cached-only",
    ...permissionFlags(),
    `${STAND_IN_PROJECT}/mod.ts`,
    ...args,
  ];
}

/** Environment variables the stand-in needs on top of the run's own. */
export const STAND_IN_ENV = {
  DENO_DIR: STAND_IN_DENO_DIR,
  DENO_NO_UPDATE_CHECK: "1",
  NO_COLOR: "1",
};

export interface RootfsRunOptions {
  /** The command and its arguments, as paths inside the root. */
  command: string[];
  /** Host directory mounted writable at the data directory. */
  dataDirectory: string;
  /** The whole environment of the command. PATH defaults to Docker's. */
  env?: Record<string, string>;
}

export interface RootfsRunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs in a private mount and PID namespace. It mounts the root read-only
 * over itself, a fresh tmpfs on `/tmp`, the data directory writable and a
 * new `/proc`. A container engine provides `/proc` too, and glibc reads it
 * for the main thread's stack bounds. The last line chroots into the root,
 * enters the working directory and drops to the image's user with no
 * supplementary groups.
 */
const RUN_SCRIPT = `set -e
root=$1; data=$2; shift 2
mount --bind "$root" "$root"
mount -o remount,bind,ro "$root"
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs "$root/tmp"
mount --bind "$data" "$root${DATA_DIRECTORY}"
mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
exec unshare --root="$root" --wd=${CONFIG_DIRECTORY} \\
  --setgid=${IMAGE_USER.gid} --setuid=${IMAGE_USER.uid} -- "$@"
`;

/** Runs a command inside an assembled root as the image's user. */
export async function runInRootfs(
  root: string,
  options: RootfsRunOptions,
): Promise<RootfsRunResult> {
  await Deno.mkdir(join(root, "proc"), { recursive: true });
  await Deno.chown(options.dataDirectory, IMAGE_USER.uid, IMAGE_USER.gid);

  const { code, stdout, stderr } = await new Deno.Command("unshare", {
    args: [
      "--mount",
      "--propagation=private",
      "--pid",
      "--fork",
      "--",
      "sh",
      "-c",
      RUN_SCRIPT,
      "sh",
      root,
      options.dataDirectory,
      ...options.command,
    ],
    clearEnv: true,
    env: { PATH: CONTAINER_PATH, ...options.env },
    stdout: "piped",
    stderr: "piped",
  }).output();

  const decoder = new TextDecoder();
  return {
    code,
    stdout: decoder.decode(stdout),
    stderr: decoder.decode(stderr),
  };
}

/** Builds the stand-in root in `root` from the project at `project`. */
export async function assembleStandIn(root: string, project: string) {
  await assembleRootfs(root, Deno.execPath(), STAND_IN_RUNTIME);
  await addDenoProgram(root, project);
}

interface CheckOptions {
  inputs: string[];
  args: string[];
}

function parseCheckOptions(args: string[]): CheckOptions {
  const options: CheckOptions = { inputs: [], args: [] };
  for (let index = 0; index < args.length; index++) {
    if (args[index] === "--") {
      options.args = args.slice(index + 1);
      return options;
    }
    if (args[index] === "--input" && index + 1 < args.length) {
      options.inputs.push(args[++index]);
      continue;
    }
    throw new Error(
      `unknown argument "${args[index]}"; expected --input FILE or --`,
    );
  }
  return options;
}

async function check(args: string[]): Promise<number> {
  const options = parseCheckOptions(args);
  const project = new URL("..", import.meta.url).pathname;
  const workspace = await Deno.makeTempDir({ prefix: "threathq-rootfs-" });
  const root = join(workspace, "root");
  const data = join(workspace, "data");

  try {
    await assembleStandIn(root, project);
    for (const input of options.inputs) {
      await copyInto(root, input, `/input/${basename(input)}`);
    }
    await Deno.mkdir(data);

    const result = await runInRootfs(root, {
      command: standInCommand(options.args),
      dataDirectory: data,
      env: STAND_IN_ENV,
    });
    await Deno.stdout.write(new TextEncoder().encode(result.stdout));
    await Deno.stderr.write(new TextEncoder().encode(result.stderr));
    return result.code;
  } finally {
    await Deno.remove(workspace, { recursive: true });
  }
}

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === "assemble" && rest.length === 2) {
    await assembleRootfs(rest[0], rest[1]);
    return 0;
  }
  if (command === "check") return await check(rest);

  throw new Error(
    "usage: rootfs.ts assemble ROOT EXECUTABLE | check [--input FILE]... -- ARGS...",
  );
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (error) {
    console.error(`rootfs: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
