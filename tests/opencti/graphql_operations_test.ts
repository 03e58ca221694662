import { suite } from "uvu";
import * as assert from "uvu/assert";
import { buildSchema, type GraphQLSchema, parse, validate } from "graphql";
import {
  operationNameOf,
  OPERATIONS,
  REGISTER_CONNECTOR,
} from "../../src/opencti/operations.ts";

const t = suite("opencti: graphql operations");

const SCHEMA_PATH = new URL(
  "../../../shared/schema/opencti-6.9.17.graphql",
  import.meta.url,
);

function loadSchema(): GraphQLSchema | undefined {
  try {
    return buildSchema(Deno.readTextFileSync(SCHEMA_PATH));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

const schema = loadSchema();

if (schema === undefined) {
  console.log("skipped: ../shared not found (schema validation)");
  t.skip("every operation validates against the schema", () => {});
} else {
  t("every operation validates against the schema", () => {
    for (const [name, text] of Object.entries(OPERATIONS)) {
      const errors = validate(schema, parse(text));
      assert.equal(
        errors.map((error) => error.message),
        [],
        `operation ${name} is invalid`,
      );
    }
  });

  t("schema validation rejects an unknown field", () => {
    const errors = validate(schema, parse("query { about { nonsense } }"));
    assert.is(errors.length, 1);
  });
}

t("each key is the operation's own name", () => {
  for (const [name, text] of Object.entries(OPERATIONS)) {
    assert.is(operationNameOf(text), name);
  }
});

t("each text holds exactly one operation", () => {
  for (const [name, text] of Object.entries(OPERATIONS)) {
    const document = parse(text);
    assert.is(document.definitions.length, 1, `operation ${name}`);
  }
});

t("registration asks for nothing newer than 6.8", () => {
  // ConnectorConfig.s3 exists only from OpenCTI 6.9 on.
  assert.not.match(REGISTER_CONNECTOR, /\bs3\b/);
});

t("no operation deletes the connector", () => {
  for (const text of Object.values(OPERATIONS)) {
    assert.not.match(text, /deleteConnector/);
  }
});

t.run();
