/**
 * A small GraphQL executor for the platform stand-in. It parses a request,
 * validates it against OpenCTI's schema when one is given (replying as
 * Apollo Server does: HTTP 400 with an `errors` array), and resolves each
 * top-level field with a plain function, then keeps only the selected
 * fields of the result.
 */
import {
  buildSchema,
  type DocumentNode,
  type FieldNode,
  getOperationAST,
  getVariableValues,
  GraphQLError,
  type GraphQLSchema,
  Kind,
  type OperationDefinitionNode,
  parse,
  type SelectionSetNode,
  validate,
  valueFromASTUntyped,
} from "graphql";

/** An error a resolver raises, with OpenCTI's error code. */
export class PlatformFailure extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = "PlatformFailure";
  }
}

/** Arguments of a field, after variables are substituted. */
export type FieldArguments = Record<string, unknown>;

/**
 * A resolved value. A function is a field with arguments: the executor calls
 * it with the field's arguments when the request selects that field.
 */
export type Resolved =
  | unknown
  | ((args: FieldArguments) => unknown | Promise<unknown>);

/** The top-level fields of `Query` and `Mutation`, by field name. */
export type RootResolvers = Record<
  string,
  (args: FieldArguments) => unknown | Promise<unknown>
>;

export interface GraphqlRequest {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
}

export interface ParsedRequest {
  document: DocumentNode;
  operation: OperationDefinitionNode;
  operationName: string;
  variables: Record<string, unknown>;
}

export interface GraphqlReply {
  status: number;
  body: Record<string, unknown>;
}

const schemaCache = new Map<string, GraphQLSchema>();

/** Builds the schema in a file once per process, or undefined if it is absent. */
export function loadSchema(path: string): GraphQLSchema | undefined {
  const cached = schemaCache.get(path);
  if (cached !== undefined) return cached;

  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const schema = buildSchema(text);
  schemaCache.set(path, schema);
  return schema;
}

function badRequest(code: string, errors: readonly GraphQLError[]) {
  return {
    status: 400,
    body: {
      errors: errors.map((error) => ({
        message: error.message,
        locations: error.locations,
        extensions: { code },
      })),
    },
  };
}

/**
 * Parses and (with a schema) validates a request. Returns the parsed
 * request, or the reply Apollo sends for an invalid one.
 */
export function parseRequest(
  request: GraphqlRequest,
  schema: GraphQLSchema | undefined,
): ParsedRequest | GraphqlReply {
  if (typeof request.query !== "string") {
    return badRequest("BAD_REQUEST", [
      new GraphQLError("GraphQL operations must contain a `query` string"),
    ]);
  }

  let document: DocumentNode;
  try {
    document = parse(request.query);
  } catch (error) {
    return badRequest("GRAPHQL_PARSE_FAILED", [error as GraphQLError]);
  }

  const name = typeof request.operationName === "string"
    ? request.operationName
    : undefined;
  const operation = getOperationAST(document, name);
  if (operation === null || operation === undefined) {
    return badRequest("BAD_REQUEST", [
      new GraphQLError(`Unknown operation named "${name ?? ""}".`),
    ]);
  }

  const rawVariables = isRecord(request.variables) ? request.variables : {};
  if (schema !== undefined) {
    const invalid = validate(schema, document);
    if (invalid.length > 0) {
      return badRequest("GRAPHQL_VALIDATION_FAILED", invalid);
    }

    const coerced = getVariableValues(
      schema,
      operation.variableDefinitions ?? [],
      rawVariables,
    );
    if (coerced.errors !== undefined) {
      return badRequest("BAD_USER_INPUT", coerced.errors);
    }
  }

  return {
    document,
    operation,
    operationName: operation.name?.value ?? "anonymous",
    variables: rawVariables,
  };
}

/**
 * Resolves every top-level field of the operation. A resolver that throws
 * `PlatformFailure` gives `null` for its field and an error entry shaped as
 * OpenCTI's `formatError` writes it (`name` is the code).
 */
export async function execute(
  parsed: ParsedRequest,
  resolvers: RootResolvers,
): Promise<GraphqlReply> {
  const data: Record<string, unknown> = {};
  const errors: Array<Record<string, unknown>> = [];

  for (const field of fieldsOf(parsed.operation.selectionSet)) {
    const key = field.alias?.value ?? field.name.value;
    const resolver = resolvers[field.name.value];
    try {
      if (resolver === undefined) {
        throw new PlatformFailure(
          "UNSUPPORTED_ERROR",
          `The platform stand-in does not implement ${field.name.value}`,
        );
      }
      const value = await resolver(argumentsOf(field, parsed.variables));
      data[key] = await project(value, field.selectionSet, parsed.variables);
    } catch (error) {
      if (!(error instanceof PlatformFailure)) throw error;
      data[key] = null;
      errors.push({
        message: error.message,
        name: error.code,
        extensions: { code: error.code },
        path: [key],
      });
    }
  }

  const body: Record<string, unknown> = { data };
  if (errors.length > 0) body.errors = errors;
  return { status: 200, body };
}

function fieldsOf(selectionSet: SelectionSetNode): FieldNode[] {
  const fields: FieldNode[] = [];
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) fields.push(selection);
    else if (selection.kind === Kind.INLINE_FRAGMENT) {
      fields.push(...fieldsOf(selection.selectionSet));
    }
  }
  return fields;
}

function argumentsOf(
  field: FieldNode,
  variables: Record<string, unknown>,
): FieldArguments {
  const args: FieldArguments = {};
  for (const argument of field.arguments ?? []) {
    args[argument.name.value] = valueFromASTUntyped(argument.value, variables);
  }
  return args;
}

async function project(
  value: unknown,
  selectionSet: SelectionSetNode | undefined,
  variables: Record<string, unknown>,
): Promise<unknown> {
  if (selectionSet === undefined || value === null || value === undefined) {
    return value ?? null;
  }
  if (Array.isArray(value)) {
    return await Promise.all(
      value.map((item) => project(item, selectionSet, variables)),
    );
  }
  if (!isRecord(value)) return value;

  const result: Record<string, unknown> = {};
  for (const field of fieldsOf(selectionSet)) {
    const key = field.alias?.value ?? field.name.value;
    let member: unknown = field.name.value === "__typename"
      ? value.__typename ?? null
      : value[field.name.value];
    if (typeof member === "function") {
      member = await member(argumentsOf(field, variables));
    }
    result[key] = await project(member, field.selectionSet, variables);
  }
  return result;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
