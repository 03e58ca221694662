/**
 * Recording fakes of the runtime's I/O boundaries: the platform API a run's
 * work calls, the RabbitMQ publisher, the API pusher, the page delivery and
 * the run state. Each records its calls as short strings in `events`, so a
 * test can assert their order.
 */
import type { AmqpPublisher } from "../../src/opencti/amqp_publisher.ts";
import type { ApiPusher } from "../../src/opencti/api_push.ts";
import type { SaveOutcome } from "../../src/opencti/connector_helper.ts";
import type { PlatformApi } from "../../src/opencti/platform_api.ts";
import { RunWork } from "../../src/opencti/run_work.ts";
import { createFakeClock } from "../../src/runtime/clock.ts";
import type {
  DeliveryResult,
  PageDelivery,
} from "../../src/runtime/page_delivery.ts";
import type {
  RunStateSource,
  RunStateView,
} from "../../src/runtime/run_state.ts";
import type { StixObject } from "../../src/stix/types.ts";
import { createMemoryLogger } from "../../src/log/logger.ts";

function unused(name: string): never {
  throw new Error(`${name} is not used by this test`);
}

/** Returns a platform API that records work calls; other calls throw. */
export function recordingPlatformApi(events: string[]): PlatformApi {
  let works = 0;
  return {
    fetchVersion: () => unused("fetchVersion"),
    fetchUser: () => unused("fetchUser"),
    registerConnector: () => unused("registerConnector"),
    pingConnector: () => unused("pingConnector"),
    fetchQueueDetails: () => unused("fetchQueueDetails"),
    addWork(_connectorId, friendlyName) {
      works += 1;
      events.push(`addWork:${friendlyName}`);
      return Promise.resolve(`work-${works}`);
    },
    addExpectations(workId, count) {
      events.push(`addExpectations:${workId}:${count}`);
      return Promise.resolve();
    },
    markWorkProcessed(workId, message, inError) {
      events.push(`toProcessed:${workId}:${inError}:${message}`);
      return Promise.resolve();
    },
    deleteWork(workId) {
      events.push(`deleteWork:${workId}`);
      return Promise.resolve();
    },
    isWorkAlive: () => unused("isWorkAlive"),
    reportExpectation: () => unused("reportExpectation"),
    pushBundle: () => unused("pushBundle"),
  };
}

/** Creates a run work over `recordingPlatformApi`. */
export function recordingWork(events: string[]): RunWork {
  return new RunWork({
    api: recordingPlatformApi(events),
    connectorId: "connector-1",
    logger: createMemoryLogger(),
    clock: createFakeClock(),
    friendlyName: "test run",
  });
}

/** Returns a publisher that confirms at once, unless `hold` is set. */
export function fakePublisher(
  events: string[],
  options: { hold?: boolean } = {},
): AmqpPublisher & { closes: number } {
  let release: (() => void) | undefined;
  const publisher = {
    closes: 0,
    publishPage: () => unused("publishPage"),
    async publishSplit(
      split: Parameters<AmqpPublisher["publishSplit"]>[0],
      target: Parameters<AmqpPublisher["publishSplit"]>[1],
    ) {
      events.push(`publish:${target.workId}:${split.bundles.length}`);
      if (options.hold) {
        await new Promise<void>((resolve) => release = resolve);
        throw new Error("connection closed while waiting for confirms");
      }
      return { messages: split.bundles.length };
    },
    close() {
      publisher.closes += 1;
      events.push("close");
      release?.();
      return Promise.resolve();
    },
  };
  return publisher;
}

/** Returns a pusher that accepts every bundle. */
export function fakePusher(events: string[]): ApiPusher {
  return {
    pushBundle(bundle, options = {}) {
      events.push(`push:${options.workId}:${bundle.objects.length}`);
      return Promise.resolve({ objects: bundle.objects.length });
    },
  };
}

/** Returns a delivery that records its objects; call `failOn` throws. */
export function recordingDelivery(
  events: string[],
  options: { failOn?: number; onDeliver?: (call: number) => void } = {},
): PageDelivery & { delivered: StixObject[][] } {
  const delivered: StixObject[][] = [];
  return {
    delivered,
    async deliver(objects, deliverOptions): Promise<DeliveryResult> {
      const call = delivered.length + 1;
      events.push(`deliver:${objects.length}`);
      options.onDeliver?.(call);
      if (call === options.failOn) {
        throw new Error(`delivery ${call} failed on purpose`);
      }
      delivered.push([...objects]);

      // A work that got something is closed with toProcessed, not deleted.
      const work = deliverOptions.work;
      if (work !== undefined && objects.length > 0) {
        await work.start();
        work.recordPushedBundle();
      }
      const types: Record<string, number> = {};
      for (const object of objects) {
        types[object.type] = (types[object.type] ?? 0) + 1;
      }
      return { objects: objects.length, messages: objects.length, types };
    },
    close: () => Promise.resolve(),
  };
}

/** Returns a state kept in memory; `saveOutcome` can report a reset. */
export function memoryStates(
  events: string[],
  initial?: Record<string, unknown>,
): RunStateSource & {
  saved: Array<Record<string, unknown>>;
  reset: AbortController;
  saveOutcome: (index: number) => SaveOutcome;
} {
  const source = {
    location: "memory",
    saved: [] as Array<Record<string, unknown>>,
    reset: new AbortController(),
    saveOutcome: (_index: number): SaveOutcome => "saved",
    begin(): Promise<RunStateView> {
      const latest = source.saved.at(-1) ?? initial;
      return Promise.resolve({
        initialState: latest,
        resetSignal: source.reset.signal,
        save(state) {
          const outcome = source.saveOutcome(source.saved.length);
          events.push(`save:${outcome}`);
          if (outcome !== "reset") source.saved.push(state);
          return Promise.resolve(outcome);
        },
        end: () => void events.push("end"),
      });
    },
  };
  return source;
}
