import { suite } from "uvu";
import * as assert from "uvu/assert";
import { AMQPError } from "@cloudamqp/amqp-client";
import { createMemoryLogger } from "../../src/log/logger.ts";
import {
  absorbAmqpRejection,
  guardAmqpRejections,
} from "../../src/runtime/amqp_rejection_guard.ts";

const t = suite("runtime: amqp rejection guard");

function rejectionEvent(reason: unknown) {
  const event = { reason, prevented: false, preventDefault() {} };
  event.preventDefault = () => void (event.prevented = true);
  return event;
}

t("AMQP error is absorbed and logged", () => {
  const logger = createMemoryLogger();
  const event = rejectionEvent(
    new AMQPError("write EPIPE", undefined as never),
  );

  absorbAmqpRejection(event, logger);

  assert.ok(event.prevented);
  const records = logger.records();
  assert.is(records.length, 1);
  assert.is(records[0].level, "DEBUG");
  assert.equal(records[0].attributes, { error: "write EPIPE" });
});

t("other rejections are left alone", () => {
  const logger = createMemoryLogger();
  for (const reason of [new Error("write EPIPE"), "SIGTERM", undefined]) {
    const event = rejectionEvent(reason);

    absorbAmqpRejection(event, logger);

    assert.not.ok(event.prevented, String(reason));
  }
  assert.equal(logger.records(), []);
});

t("guard absorbs an orphaned rejection", async () => {
  const logger = createMemoryLogger();
  const remove = guardAmqpRejections(logger);
  try {
    Promise.reject(new AMQPError("Socket closed", undefined as never));
    await new Promise((resolve) => setTimeout(resolve, 10));

    const messages = logger.records().map((record) => record.message);
    assert.equal(messages, [
      "Ignored a RabbitMQ client rejection that nothing awaited",
    ]);
  } finally {
    remove();
  }
});

t.run();
