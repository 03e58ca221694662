import { suite } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { ConnectorMetrics } from "../../src/health/connector_metrics.ts";
import { createMemoryLogger } from "../../src/log/logger.ts";
import { createDirectoryOutput } from "../../src/opencti/directory_output.ts";
import { splitObjects } from "../../src/opencti/splitter.ts";
import { createFakeClock } from "../../src/runtime/clock.ts";
import {
  createPageDelivery,
  type PageDeliveryOptions,
} from "../../src/runtime/page_delivery.ts";
import type { StixObject } from "../../src/stix/types.ts";
import { samplePage } from "../support/worker_standin.ts";
import { fakePublisher, fakePusher, recordingWork } from "./fakes.ts";

const t = suite("runtime: page delivery");

const page = () => samplePage(3) as unknown as StixObject[];

function options(
  overrides: Partial<PageDeliveryOptions>,
): PageDeliveryOptions & { metrics: ConnectorMetrics } {
  const logger = createMemoryLogger();
  return {
    metrics: new ConnectorMetrics({ logger }),
    logger,
    clock: createFakeClock(),
    ...overrides,
  };
}

function amqpQueue(events: string[], hold = false) {
  return {
    protocol: "amqp" as const,
    publisher: fakePublisher(events, { hold }),
    applicantId: "user-1",
    exchange: "amqp.worker.exchange",
    routingKey: "push_routing_connector-1",
  };
}

async function withDirectory(run: (directory: string) => Promise<void>) {
  const directory = await Deno.makeTempDir({ prefix: "delivery-test-" });
  try {
    await run(directory);
  } finally {
    await Deno.remove(directory, { recursive: true });
  }
}

function directoryOutput(directory: string, events: string[]) {
  const output = createDirectoryOutput({
    directory,
    retentionDays: 0,
    connector: {
      id: "connector-1",
      name: "Cofense ThreatHQ",
      type: "EXTERNAL_IMPORT",
      scope: "Cofense ThreatHQ",
      auto: false,
      validate_before_import: false,
    },
    applicantId: null,
    logger: createMemoryLogger(),
  });
  return {
    async write(bundle: unknown) {
      const path = await output.write(bundle);
      events.push("file");
      return path;
    },
  };
}

t("amqp announces expectations before publishing", async () => {
  const events: string[] = [];
  const objects = page();
  const expected = splitObjects(objects).expectations;
  const settings = options({ queue: amqpQueue(events) });
  const delivery = createPageDelivery(settings);

  const result = await delivery.deliver(objects, {
    work: recordingWork(events),
    signal: new AbortController().signal,
  });

  assert.equal(events, [
    "addWork:test run",
    `addExpectations:work-1:${expected}`,
    `publish:work-1:${expected}`,
  ]);
  assert.is(result.objects, expected);
  assert.is(result.messages, expected);
  assert.is(result.types.report, 1);
  assert.is(result.types["ipv4-addr"], 3);
  assert.is(settings.metrics.bundlesSent.get(), expected);
  assert.is(settings.metrics.stixObjectsSent.get({ type: "indicator" }), 3);
});

t("api pushes one bundle without expectations", async () => {
  const events: string[] = [];
  const objects = page();
  const settings = options({
    queue: { protocol: "api", pusher: fakePusher(events) },
  });
  const delivery = createPageDelivery(settings);
  const work = recordingWork(events);

  const result = await delivery.deliver(objects, {
    work,
    signal: new AbortController().signal,
  });
  await work.finish("done", false);

  assert.equal(events, [
    "addWork:test run",
    `push:work-1:${objects.length}`,
    "toProcessed:work-1:false:done",
  ]);
  assert.is(result.messages, 1);
  assert.is(result.objects, objects.length);
  assert.is(settings.metrics.bundlesSent.get(), 1);
  assert.is(settings.metrics.recordsSent.get(), objects.length);
});

t("directory only writes the whole bundle", async () => {
  await withDirectory(async (directory) => {
    const events: string[] = [];
    const objects = page();
    const settings = options({ directory: directoryOutput(directory, events) });
    const delivery = createPageDelivery(settings);

    const result = await delivery.deliver(objects, {
      signal: new AbortController().signal,
    });

    assert.equal(events, ["file"]);
    assert.ok(result.file?.startsWith(directory));
    const wrapper = JSON.parse(await Deno.readTextFile(result.file!));
    assert.equal(
      wrapper.bundle.objects.map((object: StixObject) => object.id),
      objects.map((object) => object.id),
    );
    assert.is(result.objects, objects.length);
    assert.is(result.messages, 0);
    assert.is(settings.metrics.bundlesSent.get(), 0);
    assert.is(settings.metrics.recordsSent.get(), objects.length);
    assert.is(settings.metrics.stixObjectsSent.get({ type: "report" }), 1);
  });
});

t("directory and queue write the file first", async () => {
  await withDirectory(async (directory) => {
    const events: string[] = [];
    const delivery = createPageDelivery(options({
      directory: directoryOutput(directory, events),
      queue: amqpQueue(events),
    }));

    const result = await delivery.deliver(page(), {
      work: recordingWork(events),
      signal: new AbortController().signal,
    });

    assert.is(events[0], "file");
    assert.ok(events[1].startsWith("addWork"));
    assert.ok(events[3].startsWith("publish"));
    const files = [...Deno.readDirSync(directory)].map((entry) => entry.name);
    assert.equal(files, [result.file!.slice(directory.length + 1)]);
    assert.is(join(directory, files[0]), result.file);
  });
});

t("empty page sends nothing", async () => {
  const events: string[] = [];
  const delivery = createPageDelivery(options({ queue: amqpQueue(events) }));

  const result = await delivery.deliver([], {
    work: recordingWork(events),
    signal: new AbortController().signal,
  });

  assert.equal(events, []);
  assert.is(result.objects, 0);
});

t("queue without a work raises", async () => {
  const delivery = createPageDelivery(options({ queue: amqpQueue([]) }));

  try {
    await delivery.deliver(page(), { signal: new AbortController().signal });
    assert.unreachable("delivered without a work");
  } catch (error) {
    assert.instance(error, TypeError);
    assert.match((error as Error).message, /DeliverOptions\.work/);
  }
});

t("abort closes a stuck publish after the grace", async () => {
  const events: string[] = [];
  const queue = amqpQueue(events, true);
  const delivery = createPageDelivery(
    options({ queue, abortGraceMs: 0 }),
  );
  const controller = new AbortController();

  const delivering = delivery.deliver(page(), {
    work: recordingWork(events),
    signal: controller.signal,
  });
  while (!events.some((event) => event.startsWith("publish"))) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  controller.abort("SIGTERM");

  try {
    await delivering;
    assert.unreachable("the stuck publish resolved");
  } catch (error) {
    assert.match((error as Error).message, /closed while waiting/);
  }
  assert.is(queue.publisher.closes, 1);
});

t("aborted signal sends nothing to the queue", async () => {
  const events: string[] = [];
  const delivery = createPageDelivery(options({ queue: amqpQueue(events) }));
  const controller = new AbortController();
  controller.abort("SIGTERM");

  try {
    await delivery.deliver(page(), {
      work: recordingWork(events),
      signal: controller.signal,
    });
    assert.unreachable("delivered after the abort");
  } catch (error) {
    assert.is(error, "SIGTERM");
  }
  assert.equal(events, []);
});

t.run();
