/**
 * A strict parser of the Prometheus text exposition format 0.0.4, written
 * from the format's rules for the tests, so the writer is checked by reading
 * its output back. It throws on anything the format does not allow: a sample
 * before its TYPE line, a family split in two, unknown escapes, duplicate
 * series, and histograms whose buckets are not cumulative, lack `+Inf`, or
 * disagree with `_count`.
 */

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedFamily {
  name: string;
  help?: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  samples: ParsedSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = ["counter", "gauge", "histogram", "summary", "untyped"];
const FLOAT = /^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)$/;

export class ExpositionError extends Error {
  constructor(lineNumber: number, message: string) {
    super(`line ${lineNumber}: ${message}`);
  }
}

function parseValue(text: string, lineNumber: number): number {
  if (text === "NaN") return NaN;
  if (text === "+Inf" || text === "Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (!FLOAT.test(text)) {
    throw new ExpositionError(lineNumber, `invalid value "${text}"`);
  }
  return Number(text);
}

function unescapeHelp(text: string, lineNumber: number): string {
  return text.replace(/\\(.?)/g, (_match, next: string) => {
    if (next === "\\") return "\\";
    if (next === "n") return "\n";
    throw new ExpositionError(lineNumber, `invalid HELP escape "\\${next}"`);
  });
}

/** Reads `{name="value",...}` from `line` at `start`; returns the end index. */
function parseLabels(
  line: string,
  start: number,
  lineNumber: number,
  labels: Record<string, string>,
): number {
  let index = start + 1;
  while (line[index] !== "}") {
    const nameMatch = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(index));
    if (nameMatch === null) {
      throw new ExpositionError(lineNumber, `invalid label name at ${index}`);
    }
    const name = nameMatch[0];
    index += name.length;
    if (line.slice(index, index + 2) !== '="') {
      throw new ExpositionError(lineNumber, `expected =" after label ${name}`);
    }
    index += 2;

    let value = "";
    while (line[index] !== '"') {
      const char = line[index];
      if (char === undefined) {
        throw new ExpositionError(lineNumber, "unterminated label value");
      }
      if (char === "\\") {
        const next = line[index + 1];
        if (next === "\\") value += "\\";
        else if (next === '"') value += '"';
        else if (next === "n") value += "\n";
        else {
          throw new ExpositionError(
            lineNumber,
            `invalid label escape "\\${next}"`,
          );
        }
        index += 2;
      } else {
        value += char;
        index += 1;
      }
    }
    index += 1;

    if (name in labels) {
      throw new ExpositionError(lineNumber, `label ${name} repeated`);
    }
    if (!LABEL_NAME.test(name) || name.startsWith("__")) {
      throw new ExpositionError(lineNumber, `reserved label name ${name}`);
    }
    labels[name] = value;
    if (line[index] === ",") index += 1;
    else if (line[index] !== "}") {
      throw new ExpositionError(lineNumber, `expected , or } at ${index}`);
    }
  }
  return index + 1;
}

function parseSampleLine(line: string, lineNumber: number): ParsedSample {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (nameMatch === null) {
    throw new ExpositionError(lineNumber, "sample without a metric name");
  }
  const name = nameMatch[0];
  const labels: Record<string, string> = {};
  let index = name.length;
  if (line[index] === "{") {
    index = parseLabels(line, index, lineNumber, labels);
  }
  if (line[index] !== " ") {
    throw new ExpositionError(lineNumber, "expected one space before value");
  }
  const fields = line.slice(index + 1).split(" ");
  if (fields.length > 2 || fields.some((field) => field === "")) {
    throw new ExpositionError(lineNumber, "expected value [timestamp]");
  }
  if (fields.length === 2 && !/^-?\d+$/.test(fields[1])) {
    throw new ExpositionError(lineNumber, `invalid timestamp "${fields[1]}"`);
  }
  return { name, labels, value: parseValue(fields[0], lineNumber) };
}

/** Returns the family that a sample name belongs to, given the TYPE. */
function familyOf(
  sampleName: string,
  families: Map<string, ParsedFamily>,
): ParsedFamily | undefined {
  const direct = families.get(sampleName);
  if (direct !== undefined && direct.type !== "histogram") return direct;

  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!sampleName.endsWith(suffix)) continue;
    const base = families.get(sampleName.slice(0, -suffix.length));
    if (base?.type === "histogram") return base;
  }
  return undefined;
}

function seriesKey(sample: ParsedSample): string {
  const labels = Object.entries(sample.labels).sort(([a], [b]) =>
    a < b ? -1 : 1
  );
  return `${sample.name}${JSON.stringify(labels)}`;
}

function checkHistogram(family: ParsedFamily): void {
  const groups = new Map<string, ParsedSample[]>();
  for (const sample of family.samples) {
    const { le: _le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key)!.push(sample);
  }

  for (const [key, samples] of groups) {
    const where = `histogram ${family.name} ${key}`;
    const buckets = samples.filter((s) => s.name === `${family.name}_bucket`);
    const sum = samples.filter((s) => s.name === `${family.name}_sum`);
    const count = samples.filter((s) => s.name === `${family.name}_count`);
    if (buckets.length === 0 || sum.length !== 1 || count.length !== 1) {
      throw new Error(`${where}: needs buckets, one _sum and one _count`);
    }

    let previousBound = -Infinity;
    let previousCount = 0;
    for (const bucket of buckets) {
      if (bucket.labels.le === undefined) {
        throw new Error(`${where}: bucket without le`);
      }
      const bound = parseValue(bucket.labels.le, 0);
      if (!(bound > previousBound)) {
        throw new Error(`${where}: le ${bucket.labels.le} not ascending`);
      }
      if (bucket.value < previousCount) {
        throw new Error(`${where}: bucket le=${bucket.labels.le} decreases`);
      }
      previousBound = bound;
      previousCount = bucket.value;
    }
    if (buckets.at(-1)!.labels.le !== "+Inf") {
      throw new Error(`${where}: the last bucket must be le="+Inf"`);
    }
    if (buckets.at(-1)!.value !== count[0].value) {
      throw new Error(`${where}: +Inf bucket differs from _count`);
    }
  }
}

/** Parses `text` strictly and returns its families by name. */
export function parseExposition(text: string): Map<string, ParsedFamily> {
  const families = new Map<string, ParsedFamily>();
  if (text === "") return families;
  if (!text.endsWith("\n")) throw new ExpositionError(0, "no final newline");

  const helps = new Map<string, string>();
  const closed = new Set<string>();
  const seen = new Set<string>();
  let current: ParsedFamily | undefined;

  text.slice(0, -1).split("\n").forEach((line, index) => {
    const lineNumber = index + 1;
    if (line.includes("\r")) {
      throw new ExpositionError(lineNumber, "carriage return");
    }

    const help = /^# HELP (\S+) (.*)$/.exec(line);
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (help !== null) {
      const [, name, escaped] = help;
      if (!METRIC_NAME.test(name) || helps.has(name)) {
        throw new ExpositionError(lineNumber, `bad or repeated HELP ${name}`);
      }
      helps.set(name, unescapeHelp(escaped, lineNumber));
      const family = families.get(name);
      if (family !== undefined) family.help = helps.get(name);
    } else if (type !== null) {
      const [, name, kind] = type;
      if (!METRIC_NAME.test(name) || !TYPES.includes(kind)) {
        throw new ExpositionError(lineNumber, `bad TYPE line`);
      }
      if (families.has(name)) {
        throw new ExpositionError(lineNumber, `TYPE ${name} repeated`);
      }
      if (current !== undefined) closed.add(current.name);
      current = {
        name,
        help: helps.get(name),
        type: kind as ParsedFamily["type"],
        samples: [],
      };
      families.set(name, current);
    } else if (line.startsWith("#") || line.trim() === "") {
      throw new ExpositionError(lineNumber, `unexpected line "${line}"`);
    } else {
      const sample = parseSampleLine(line, lineNumber);
      const family = familyOf(sample.name, families);
      if (family === undefined) {
        throw new ExpositionError(lineNumber, `${sample.name} has no TYPE`);
      }
      if (family !== current || closed.has(family.name)) {
        throw new ExpositionError(lineNumber, `${sample.name} out of group`);
      }
      const key = seriesKey(sample);
      if (seen.has(key)) {
        throw new ExpositionError(lineNumber, `duplicate series ${key}`);
      }
      seen.add(key);
      family.samples.push(sample);
    }
  });

  for (const family of families.values()) {
    if (family.type === "histogram") checkHistogram(family);
  }
  return families;
}

/** Returns the one sample of `family` with exactly these labels. */
export function sampleValue(
  families: Map<string, ParsedFamily>,
  name: string,
  labels: Record<string, string> = {},
  sampleName = name,
): number | undefined {
  const family = families.get(name);
  const wanted = JSON.stringify(Object.entries(labels).sort());
  const found = family?.samples.find((sample) =>
    sample.name === sampleName &&
    JSON.stringify(Object.entries(sample.labels).sort()) === wanted
  );
  return found?.value;
}
