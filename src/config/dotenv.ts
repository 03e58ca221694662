/**
 * A parser for `.env` files as Docker Compose and python-dotenv read them:
 * `KEY=value` lines, an optional `export ` prefix, `#` comments, single
 * quotes taken literally, double quotes with `\n`, `\t`, `\"` and `\\`
 * escapes and line breaks inside, and unquoted values trimmed, with a ` #`
 * comment cut off. Variable expansion (`${NAME}`) is not performed.
 */

export class DotenvSyntaxError extends Error {
  constructor(readonly line: number, reason: string) {
    super(`line ${line}: ${reason}`);
    this.name = "DotenvSyntaxError";
  }
}

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

const ESCAPES: Record<string, string> = {
  n: "\n",
  r: "\r",
  t: "\t",
  '"': '"',
  "\\": "\\",
};

/** Parses the text of a `.env` file into its variables, last one winning. */
export function parseDotenv(text: string): Map<string, string> {
  const values = new Map<string, string>();
  const lines = text.replace(/^\uFEFF/, "").split(/\r?\n/);

  for (let index = 0; index < lines.length; index++) {
    const lineNumber = index + 1;
    const line = lines[index].trim();
    if (line === "" || line.startsWith("#")) continue;

    const assignment = line.replace(/^export\s+/, "");
    const equals = assignment.indexOf("=");
    if (equals <= 0) {
      throw new DotenvSyntaxError(lineNumber, "expected KEY=value");
    }
    const key = assignment.slice(0, equals).trim();
    if (!KEY.test(key)) {
      throw new DotenvSyntaxError(lineNumber, `invalid variable name "${key}"`);
    }

    const rest = assignment.slice(equals + 1).trimStart();
    if (rest.startsWith('"')) {
      const [value, endIndex] = readDoubleQuoted(lines, index, rest);
      values.set(key, value);
      index = endIndex;
    } else if (rest.startsWith("'")) {
      const close = rest.indexOf("'", 1);
      if (close < 0) {
        throw new DotenvSyntaxError(lineNumber, "unclosed single quote");
      }
      values.set(key, rest.slice(1, close));
    } else {
      values.set(key, rest.replace(/\s+#.*$/, "").trim());
    }
  }
  return values;
}

/** Reads a double-quoted value that may span lines; returns it and its last line. */
function readDoubleQuoted(
  lines: string[],
  startIndex: number,
  firstPart: string,
): [string, number] {
  let value = "";
  let text = firstPart.slice(1);
  let index = startIndex;

  while (true) {
    for (let position = 0; position < text.length; position++) {
      const char = text[position];
      if (char === '"') return [value, index];
      if (char === "\\" && position + 1 < text.length) {
        const next = text[++position];
        value += ESCAPES[next] ?? `\\${next}`;
      } else {
        value += char;
      }
    }

    index++;
    if (index >= lines.length) {
      throw new DotenvSyntaxError(startIndex + 1, "unclosed double quote");
    }
    value += "\n";
    text = lines[index];
  }
}
