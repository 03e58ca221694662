import { suite } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { pinnedDenoVersion, PROJECT_ROOT } from "./host_tools.ts";

const t = suite("packaging: workflows");

const WORKFLOWS = ["ci.yml", "release.yml"];

interface Step {
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}

interface Workflow {
  on: Record<string, unknown>;
  jobs: Record<string, { steps: Step[]; services?: Record<string, unknown> }>;
}

async function readWorkflow(name: string): Promise<[string, Workflow]> {
  const text = await Deno.readTextFile(
    join(PROJECT_ROOT, ".github/workflows", name),
  );
  return [text, parseYaml(text) as Workflow];
}

function steps(workflow: Workflow): Step[] {
  return Object.values(workflow.jobs).flatMap((job) => job.steps);
}

t("actions are pinned by commit", async () => {
  for (const name of WORKFLOWS) {
    const [text, workflow] = await readWorkflow(name);
    const uses = steps(workflow).flatMap((step) => step.uses ?? []);
    assert.ok(uses.length > 0, `${name} uses no actions`);

    for (const action of uses) {
      assert.match(action, /^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/, action);
      const line = text.split("\n").find((l) => l.includes(action))!;
      assert.match(line, /# v\d+\.\d+\.\d+$/, `${action} has no version note`);
    }
  }
});

t("workflows install the pinned Deno", async () => {
  const version = await pinnedDenoVersion();
  for (const name of WORKFLOWS) {
    const [, workflow] = await readWorkflow(name);
    const setups = steps(workflow).filter((step) =>
      step.uses?.startsWith("denoland/setup-deno@")
    );
    assert.ok(setups.length > 0, `${name} does not set up Deno`);
    for (const setup of setups) {
      assert.is(setup.with?.["deno-version"], version, name);
    }
  }
});

t("ci runs checks and tests with RabbitMQ", async () => {
  const [, workflow] = await readWorkflow("ci.yml");
  const commands = steps(workflow).map((step) => step.run ?? "").join("\n");

  assert.match(commands, "deno task check");
  assert.match(commands, "deno task metadata --check");
  assert.match(commands, /sudo .*deno task test/);
  const services = workflow.jobs.test.services as Record<
    string,
    { image: string; ports: string[] }
  >;
  assert.match(services.rabbitmq.image, /^rabbitmq:/);
  assert.ok(services.rabbitmq.ports.includes("5672:5672"));
});

t("release compiles, publishes and pushes", async () => {
  const [, workflow] = await readWorkflow("release.yml");
  const all = steps(workflow);
  const commands = all.map((step) => step.run ?? "").join("\n");

  assert.equal(workflow.on.push, { tags: ["v*"] });
  assert.match(commands, "deno task compile:all");
  assert.match(commands, "dist/SHA256SUMS");
  const build = all.find((step) =>
    step.uses?.startsWith("docker/build-push-action@")
  );
  assert.ok(build !== undefined, "no docker/build-push-action step");
  assert.is(build.with?.push, true);
  assert.match(String(build.with?.platforms), "linux/arm64");
});

t.run();
