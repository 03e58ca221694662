/**
 * The connector state as OpenCTI stores it: one string, the JSON text of an
 * object, or `"null"` when there is none. pycti reads anything that is not a
 * non-empty JSON object (`""`, `null`, `"null"`, `{}`, a list, invalid JSON)
 * as no state, and so does this module.
 */

export type ConnectorState = Record<string, unknown>;

/** The string pycti sends when there is no state. */
export const NO_STATE = "null";

/** Returns the state in a saved string, or undefined when there is none. */
export function decodeState(
  text: string | null | undefined,
): ConnectorState | undefined {
  if (text === null || text === undefined || text.trim() === "") {
    return undefined;
  }

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return undefined;
  }
  if (Object.keys(value).length === 0) return undefined;
  return value as ConnectorState;
}

/** Encodes a state for `pingConnector`: its JSON text, or `"null"`. */
export function encodeState(state: ConnectorState | undefined): string {
  if (state === undefined || Object.keys(state).length === 0) return NO_STATE;
  return JSON.stringify(state);
}

/**
 * Returns whether the state the platform returned differs from the one
 * sent. Both are compared decoded, with object keys sorted, so two ways of
 * writing "no state" (`""` and `"null"`) are equal.
 */
export function statesDiffer(sent: string, returned: string | null): boolean {
  return canonical(decodeState(sent)) !== canonical(decodeState(returned));
}

function canonical(value: unknown): string {
  return JSON.stringify(value ?? null, (_key, item) => {
    if (typeof item !== "object" || item === null || Array.isArray(item)) {
      return item;
    }
    return Object.fromEntries(Object.entries(item).sort(compareKeys));
  });
}

function compareKeys([left]: [string, unknown], [right]: [string, unknown]) {
  if (left < right) return -1;
  if (left > right) return 1;
  return 0;
}
