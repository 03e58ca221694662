import { suite } from "uvu";
import * as assert from "uvu/assert";
import { CredentialsRejectedError } from "../../src/errors.ts";
import { createMemoryLogger } from "../../src/log/logger.ts";
import {
  GraphqlError,
  PlatformHttpError,
  PlatformUnreachableError,
} from "../../src/opencti/errors.ts";
import {
  createGraphqlClient,
  graphqlEndpoint,
} from "../../src/opencti/graphql_client.ts";
import { ABOUT, ME } from "../../src/opencti/operations.ts";
import { USER_AGENT } from "../../src/version.ts";

const t = suite("opencti: graphql client");

const TOKEN = "4b1f7c1e-secret-token";

interface Sent {
  url: string;
  headers: Headers;
  body: Record<string, unknown>;
}

function fakeFetch(respond: (sent: Sent) => Response) {
  const sent: Sent[] = [];
  const send = (input: string | URL | Request, init?: RequestInit) => {
    const request = {
      url: String(input),
      headers: new Headers(init?.headers),
      body: JSON.parse(String(init?.body)),
    };
    sent.push(request);
    return Promise.resolve(respond(request));
  };
  return { sent, fetch: send as typeof fetch };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

function clientWith(
  respond: (sent: Sent) => Response,
  customHeaders?: Array<[string, string]>,
) {
  const fake = fakeFetch(respond);
  const client = createGraphqlClient({
    url: "https://opencti.example.test/",
    token: TOKEN,
    customHeaders,
    logger: createMemoryLogger(),
    fetch: fake.fetch,
  });
  return { client, sent: fake.sent };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected the request to fail");
}

t("endpoint joins url and /graphql", () => {
  assert.is(graphqlEndpoint("http://h:8080"), "http://h:8080/graphql");
  assert.is(graphqlEndpoint("http://h:8080//"), "http://h:8080/graphql");
  assert.is(graphqlEndpoint("http://h/octi"), "http://h/octi/graphql");
});

t("request posts query, variables, headers", async () => {
  const { client, sent } = clientWith(() =>
    json({ data: { about: { version: "6.8.10" } } })
  );

  const data = await client.request(ABOUT, { a: 1 });

  assert.equal(data, { about: { version: "6.8.10" } });
  assert.is(sent.length, 1);
  assert.is(sent[0].url, "https://opencti.example.test/graphql");
  assert.is(sent[0].headers.get("authorization"), `Bearer ${TOKEN}`);
  assert.is(sent[0].headers.get("user-agent"), USER_AGENT);
  assert.is(sent[0].headers.get("content-type"), "application/json");
  assert.is(sent[0].body.query, ABOUT);
  assert.equal(sent[0].body.variables, { a: 1 });
  assert.is(sent[0].body.operationName, "healthCheck");
});

t("custom headers are sent", async () => {
  const { client, sent } = clientWith(
    () => json({ data: {} }),
    [["X-Tenant", "blue"], ["X-Team", "cti"]],
  );

  await client.request(ABOUT);

  assert.is(sent[0].headers.get("x-tenant"), "blue");
  assert.is(sent[0].headers.get("x-team"), "cti");
});

t("operationName option wins over the text", async () => {
  const { client, sent } = clientWith(() => json({ data: {} }));

  await client.request("{ about { version } }", {}, {
    operationName: "Other",
  });

  assert.is(sent[0].body.operationName, "Other");
});

t("errors array becomes GraphqlError", async () => {
  const { client } = clientWith(() =>
    json({
      data: null,
      errors: [{
        message: "Element not found",
        name: "FUNCTIONAL_ERROR",
        extensions: { code: "FUNCTIONAL_ERROR" },
      }],
    })
  );

  const error = await rejection(client.request(ABOUT));

  assert.instance(error, GraphqlError);
  const failure = error as GraphqlError;
  assert.is(failure.operationName, "healthCheck");
  assert.is(failure.code, "FUNCTIONAL_ERROR");
  assert.is(failure.httpStatus, 200);
  assert.match(failure.message, "Element not found");
});

t("code falls back to extensions.code", async () => {
  const { client } = clientWith(() =>
    json({
      errors: [{
        message: "Cannot query field",
        extensions: { code: "GRAPHQL_VALIDATION_FAILED" },
      }],
    }, 400)
  );

  const error = await rejection(client.request(ABOUT)) as GraphqlError;

  assert.instance(error, GraphqlError);
  assert.is(error.code, "GRAPHQL_VALIDATION_FAILED");
  assert.is(error.httpStatus, 400);
});

t("HTTP 401 rejects the token", async () => {
  const { client } = clientWith(() => new Response("nope", { status: 401 }));

  const error = await rejection(client.request(ABOUT));

  assert.instance(error, CredentialsRejectedError);
  const rejected = error as CredentialsRejectedError;
  assert.is(rejected.service, "OpenCTI");
  assert.equal(rejected.settings, ["OPENCTI_TOKEN"]);
  assert.match(rejected.message, "OPENCTI_TOKEN");
  assert.not.match(rejected.message, TOKEN);
  assert.not.match(rejected.stack ?? "", TOKEN);
});

t("AUTH_REQUIRED rejects the token", async () => {
  const { client } = clientWith(() =>
    json({
      data: null,
      errors: [{
        message: "You must be logged in to do this.",
        name: "AUTH_REQUIRED",
      }],
    })
  );

  const error = await rejection(client.request(ABOUT));

  assert.instance(error, CredentialsRejectedError);
  assert.match((error as Error).message, "OPENCTI_TOKEN");
});

t("FORBIDDEN_ACCESS rejects only when asked", async () => {
  const forbidden = () =>
    json({
      data: null,
      errors: [{ message: "not allowed", name: "FORBIDDEN_ACCESS" }],
    });
  const { client } = clientWith(forbidden);

  const plain = await rejection(client.request(ABOUT));
  const checked = await rejection(
    client.request(ME, {}, { forbiddenMeansRejected: true }),
  );

  assert.instance(plain, GraphqlError);
  assert.instance(checked, CredentialsRejectedError);
});

t("HTTP 502 becomes PlatformHttpError", async () => {
  const { client } = clientWith(() =>
    new Response("<html>Bad gateway</html>", { status: 502 })
  );

  const error = await rejection(client.request(ABOUT));

  assert.instance(error, PlatformHttpError);
  const failure = error as PlatformHttpError;
  assert.is(failure.httpStatus, 502);
  assert.is(failure.operationName, "healthCheck");
  assert.match(failure.message, "Bad gateway");
});

t("body without data is rejected", async () => {
  const { client } = clientWith(() => new Response("ok", { status: 200 }));

  const error = await rejection(client.request(ABOUT));

  assert.instance(error, PlatformHttpError);
});

t("network failure becomes unreachable", async () => {
  const client = createGraphqlClient({
    url: "http://127.0.0.1:1",
    token: TOKEN,
    logger: createMemoryLogger(),
    fetch: () =>
      Promise.reject(
        new TypeError("fetch failed", {
          cause: new Error("tcp connect error: Connection refused"),
        }),
      ),
  });

  const error = await rejection(client.request(ABOUT));

  assert.instance(error, PlatformUnreachableError);
  assert.match((error as Error).message, "Connection refused");
  assert.match((error as Error).message, "http://127.0.0.1:1/graphql");
});

t("aborted signal rethrows its reason", async () => {
  const controller = new AbortController();
  const reason = new Error("stopping");
  const client = createGraphqlClient({
    url: "http://127.0.0.1:1",
    token: TOKEN,
    logger: createMemoryLogger(),
    fetch: (_input, init) => {
      controller.abort(reason);
      return Promise.reject(init?.signal?.reason);
    },
  });

  const error = await rejection(
    client.request(ABOUT, {}, { signal: controller.signal }),
  );

  assert.is(error, reason);
});

t("timeout becomes unreachable", async () => {
  const client = createGraphqlClient({
    url: "http://127.0.0.1:1",
    token: TOKEN,
    logger: createMemoryLogger(),
    timeoutMs: 1,
    fetch: (_input, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener("abort", () => {
          reject(init.signal?.reason);
        });
      }),
  });

  const error = await rejection(client.request(ABOUT));

  assert.instance(error, PlatformUnreachableError);
  assert.match((error as Error).message, "timed out after 1 ms");
});

t.run();
