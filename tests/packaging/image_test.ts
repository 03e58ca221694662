/**
 * Checks the Dockerfile, docker-compose.yml and .dockerignore against the
 * image layout that scripts/rootfs.ts declares. They need no container
 * engine, and rootfs_test.ts runs the file set itself.
 */
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { settingEntries, SETTINGS } from "../../src/config/settings.ts";
import { VERSION } from "../../src/version.ts";
import {
  CONFIG_DIRECTORY,
  DATA_DIRECTORY,
  EXECUTABLE_PATH,
  IMAGE_USER,
} from "../../scripts/rootfs.ts";
import {
  COMPOSE_VALUES,
  CONTAINER_ENVIRONMENT,
} from "../../scripts/metadata.ts";
import { pinnedDenoVersion, PROJECT_ROOT } from "./host_tools.ts";

const t = suite("packaging: image");

interface Instruction {
  keyword: string;
  argument: string;
}

/** Splits a Dockerfile into instructions, joining continued lines. */
function parseDockerfile(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, " ");
  const instructions: Instruction[] = [];
  for (const line of joined.split("\n")) {
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const [keyword, ...rest] = trimmed.split(/\s+/);
    instructions.push({
      keyword: keyword.toUpperCase(),
      argument: rest.join(" "),
    });
  }
  return instructions;
}

const dockerfile = parseDockerfile(
  await Deno.readTextFile(join(PROJECT_ROOT, "Dockerfile")),
);
const finalFrom = dockerfile.findLastIndex((i) => i.keyword === "FROM");
const buildStage = dockerfile.slice(0, finalFrom);
const finalStage = dockerfile.slice(finalFrom);

function finalInstructions(keyword: string): string[] {
  return finalStage
    .filter((instruction) => instruction.keyword === keyword)
    .map((instruction) => instruction.argument);
}

t("build stage pins the Deno image", async () => {
  const version = await pinnedDenoVersion();
  assert.is(buildStage[0].argument, `denoland/deno:${version} AS build`);
});

t("build stage assembles the rootfs", () => {
  const runs = buildStage.filter((i) => i.keyword === "RUN");
  const assemble = runs.find((i) => i.argument.includes("scripts/rootfs.ts"));
  assert.ok(assemble !== undefined, "no RUN of scripts/rootfs.ts");
  assert.match(assemble.argument, "deno task compile");
  assert.match(
    assemble.argument,
    "scripts/rootfs.ts assemble /rootfs dist/threathq-connector",
  );
});

t("final stage copies only the rootfs", () => {
  assert.is(finalStage[0].argument, "scratch");
  const copies = finalInstructions("COPY");
  assert.ok(copies.length > 0);
  for (const copy of copies) {
    assert.match(copy, /^--from=build (--chown=\S+ )?\/rootfs\//);
  }
  assert.is(finalInstructions("ADD").length, 0);
  assert.is(finalInstructions("RUN").length, 0);
});

t("data directory copy sets its owner", () => {
  const owner = `${IMAGE_USER.uid}:${IMAGE_USER.gid}`;
  const copy = finalInstructions("COPY").find((c) => c.includes("--chown"));
  assert.is(
    copy,
    `--from=build --chown=${owner} /rootfs${DATA_DIRECTORY}/ ${DATA_DIRECTORY}/`,
  );
});

t("final stage runs as the image user", () => {
  assert.equal(finalInstructions("USER"), [
    `${IMAGE_USER.uid}:${IMAGE_USER.gid}`,
  ]);
  assert.equal(finalInstructions("WORKDIR"), [CONFIG_DIRECTORY]);
});

t("entrypoint and healthcheck use the executable", () => {
  assert.equal(finalInstructions("ENTRYPOINT"), [`["${EXECUTABLE_PATH}"]`]);
  assert.equal(finalInstructions("CMD"), ['["run"]']);
  const [healthcheck] = finalInstructions("HEALTHCHECK");
  assert.ok(
    healthcheck.endsWith(`CMD ["${EXECUTABLE_PATH}", "healthcheck"]`),
    healthcheck,
  );
});

t("image environment enables the health server", () => {
  const [env] = finalInstructions("ENV");
  const pairs = Object.fromEntries(
    env.split(/\s+/).map((pair) => pair.split("=", 2)),
  );
  assert.equal(pairs, CONTAINER_ENVIRONMENT);
  assert.equal(finalInstructions("EXPOSE"), [
    SETTINGS.connector.metrics_port.default,
  ]);
});

t("labels name source, version and licence", () => {
  const labels = finalInstructions("LABEL").join(" ");
  for (const key of ["source", "version", "licenses"]) {
    assert.match(labels, `org.opencontainers.image.${key}=`);
  }
  assert.ok(
    finalInstructions("ARG").includes(`VERSION=${VERSION}`),
    `ARG VERSION is not ${VERSION} (src/version.ts)`,
  );
});

const compose = parseYaml(
  await Deno.readTextFile(join(PROJECT_ROOT, "docker-compose.yml")),
);
const service = compose.services["threathq-connector"];

function composeEnvironment(): Map<string, string> {
  const environment = new Map<string, string>();
  for (const item of service.environment as string[]) {
    const equals = item.indexOf("=");
    environment.set(item.slice(0, equals), item.slice(equals + 1));
  }
  return environment;
}

t("compose sets every setting", () => {
  const environment = composeEnvironment();
  const names = settingEntries().map((entry) => entry.env);

  assert.equal([...environment.keys()].sort(), [...names].sort());
});

t("compose asks for required values", () => {
  const environment = composeEnvironment();
  for (const entry of settingEntries()) {
    if (entry.spec.example === undefined) continue;
    const expected = COMPOSE_VALUES[entry.env] ?? entry.spec.example;
    assert.is(environment.get(entry.env), expected, entry.env);
  }
  assert.is(environment.get("OPENCTI_TOKEN"), "ChangeMe");
  assert.is(environment.get("COFENSE_THREATHQ_TOKEN_PASSWORD"), "ChangeMe");
});

t("compose keeps the image's health settings", () => {
  const environment = composeEnvironment();
  for (const [name, value] of Object.entries(CONTAINER_ENVIRONMENT)) {
    assert.is(environment.get(name), value, name);
  }
});

t("compose runs read-only with tmp and data", () => {
  assert.is(service.read_only, true);
  assert.ok(service.tmpfs.includes("/tmp"));
  const targets = service.volumes.map((volume: string) => volume.split(":")[1]);
  assert.ok(targets.includes(DATA_DIRECTORY), `volumes: ${service.volumes}`);
});

t("dockerignore keeps secrets out", async () => {
  const lines = (await Deno.readTextFile(join(PROJECT_ROOT, ".dockerignore")))
    .split("\n");
  for (const pattern of [".env", "config.yml", "dist", ".git"]) {
    assert.ok(lines.includes(pattern), `${pattern} is not ignored`);
  }
});

t.run();
