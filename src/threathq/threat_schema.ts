/**
 * Zod schemas of a ThreatHQ malware threat: the `data` of
 * `GET threat/malware/{id}` and each element of `data.threats[]` in a
 * `POST threat/search` response.
 *
 * Real data is uneven. Sets are missing on older threats. `data_1` is a
 * string on most blocks but an object, sometimes partial, on URL blocks and
 * on some Domain blocks. `malwareFamily` is a single object on blocks and
 * files but a list (`malwareFamilySet`) at threat level. So
 * `parseMalwareThreat` narrows field by field, inside `ipDetail` too: a
 * field that does not fit its schema is dropped and reported. Only a value
 * that is not an object or has no integer `id` is rejected as a whole.
 *
 * The generic narrowing helpers are exported for the phish schema.
 */
import { z } from "zod";
import { type Impact, IMPACTS } from "../config/settings.ts";

/** One field that did not fit its schema and was left out. */
export interface SchemaIssue {
  /** Path of the field in the threat, such as `blockSet[2].impact`. */
  field: string;
  value: unknown;
  reason: string;
}

/** The impact vocabulary, accepted in any case and with surrounding blanks. */
export const impactSchema = z.string().transform((text, context) => {
  const word = text.trim().toLowerCase();
  const impact = IMPACTS.find((candidate) => candidate.toLowerCase() === word);
  if (impact !== undefined) return impact as Impact;

  context.addIssue({
    code: "custom",
    message: `expected one of ${IMPACTS.join(", ")}`,
  });
  return z.NEVER;
});

/** Epoch milliseconds within the range a JavaScript `Date` can hold. */
export const epochMsSchema = z.number().int().nonnegative().max(8.64e15);

export const malwareFamilySchema = z.looseObject({
  familyName: z.string(),
  description: z.string().optional(),
});

export const deliveryMechanismSchema = z.looseObject({
  mechanismName: z.string(),
  description: z.string().optional(),
});

/** `data_1` of a URL block. Real data also has partial objects. */
export const urlPartsSchema = z.looseObject({
  url: z.string().optional(),
  domain: z.string().optional(),
  host: z.string().optional(),
  path: z.string().optional(),
  protocol: z.string().optional(),
  query: z.string().optional(),
});

/**
 * Lenient shapes of an `ipDetail` object, field by field: the IP lookup
 * Cofense made for a block or a phish page. Every field is optional. `asn`
 * is also accepted as a string, because the mapper reads a decimal string
 * as the number it spells.
 */
export const ipDetailFields = {
  ip: z.string(),
  asn: z.union([z.number(), z.string()], {
    error: "expected an AS number",
  }),
  asnOrganization: z.string(),
  countryIsoCode: z.string(),
  countryName: z.string(),
};

/** Lenient shapes of one `blockSet[]` item, field by field. */
export const blockFields = {
  blockType: z.string(),
  impact: impactSchema,
  data: z.string(),
  data_1: z.union([z.string(), urlPartsSchema], {
    error: "expected a string or an object of URL parts",
  }),
  confidence: z.number(),
  role: z.string(),
  roleDescription: z.string(),
  malwareFamily: malwareFamilySchema,
  deliveryMechanism: deliveryMechanismSchema,
};

export const executableSubtypeSchema = z.looseObject({
  description: z.string().optional(),
});

/** Lenient shapes of one `executableSet[]` item, field by field. */
export const executableFields = {
  fileName: z.string(),
  fileNameExtension: z.string(),
  type: z.string(),
  md5Hex: z.string(),
  sha1Hex: z.string(),
  sha224Hex: z.string(),
  sha256Hex: z.string(),
  sha384Hex: z.string(),
  sha512Hex: z.string(),
  ssdeep: z.string(),
  severityLevel: impactSchema,
  dateEntered: epochMsSchema,
  malwareFamily: malwareFamilySchema,
  deliveryMechanism: deliveryMechanismSchema,
  executableSubtype: executableSubtypeSchema,
};

export const subjectSchema = z.looseObject({
  subject: z.string(),
  totalCount: z.number().optional(),
});

/** A malware configuration string; it may hold quotes, tabs and CRLF. */
export const extractedStringSchema = z.looseObject({
  data: z.string(),
  malwareFamily: malwareFamilySchema.optional(),
});

export const naicsCodeSchema = z.looseObject({ label: z.string() });

export const campaignBrandSchema = z.looseObject({
  brand: z.looseObject({
    id: z.number().optional(),
    text: z.string().optional(),
  }).optional(),
  totalCount: z.number().optional(),
});

export const campaignLanguageSchema = z.looseObject({
  languageDefinition: z.looseObject({
    isoCode: z.string().optional(),
    name: z.string().optional(),
    nativeName: z.string().optional(),
  }).optional(),
});

export const secureEmailGatewaySchema = z.looseObject({
  segName: z.string(),
});

/** Lenient shapes of the threat's scalar fields, field by field. */
export const threatScalarFields = {
  threatType: z.string(),
  label: z.string(),
  executiveSummary: z.string(),
  firstPublished: epochMsSchema,
  lastPublished: epochMsSchema,
  hasReport: z.boolean(),
  reportURL: z.string(),
  apiReportURL: z.string(),
  threatDetailURL: z.string(),
};

export type Shape = Record<string, z.ZodType>;

/** An object with each field of the shape either narrowed or absent. */
export type Lenient<S extends Shape> = { [K in keyof S]?: z.output<S[K]> };

export type IpDetail = Lenient<typeof ipDetailFields>;
export type Block = Lenient<typeof blockFields> & { ipDetail?: IpDetail };
export type Executable = Lenient<typeof executableFields>;
export type UrlParts = z.output<typeof urlPartsSchema>;
export type MalwareFamily = z.output<typeof malwareFamilySchema>;
export type DeliveryMechanism = z.output<typeof deliveryMechanismSchema>;
export type Subject = z.output<typeof subjectSchema>;
export type ExtractedString = z.output<typeof extractedStringSchema>;
export type NaicsCode = z.output<typeof naicsCodeSchema>;
export type CampaignBrand = z.output<typeof campaignBrandSchema>;
export type CampaignLanguage = z.output<typeof campaignLanguageSchema>;
export type SecureEmailGateway = z.output<typeof secureEmailGatewaySchema>;

/**
 * A list item with its index in the vendor's list. Problem reports use it,
 * because it stays correct when items before it were left out.
 */
export type Positioned<T> = T & { position: number };

/** A malware threat after narrowing; every set is present, maybe empty. */
export type MalwareThreat = Lenient<typeof threatScalarFields> & {
  id: number;
  blockSet: Positioned<Block>[];
  executableSet: Positioned<Executable>[];
  subjectSet: Positioned<Subject>[];
  extractedStringSet: Positioned<ExtractedString>[];
  malwareFamilySet: Positioned<MalwareFamily>[];
  deliveryMechanisms: Positioned<DeliveryMechanism>[];
  naicsCodes: Positioned<NaicsCode>[];
  campaignBrandSet: Positioned<CampaignBrand>[];
  campaignLanguageSet: Positioned<CampaignLanguage>[];
  secureEmailGatewaySet: Positioned<SecureEmailGateway>[];
};

export type ThreatParseResult =
  | { ok: true; threat: MalwareThreat; issues: SchemaIssue[] }
  | { ok: false; issues: SchemaIssue[] };

export function isRecord(
  value: unknown,
): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describeError(error: z.ZodError): string {
  return error.issues.map((issue) => {
    const path = issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
    return path + issue.message;
  }).join("; ");
}

/**
 * Narrows each field of `raw` named in `shape`. A missing or null field is
 * absent without an issue; a field that fails its schema is absent with one.
 */
export function parseFields<S extends Shape>(
  shape: S,
  raw: Record<string, unknown>,
  path: string,
  issues: SchemaIssue[],
): Lenient<S> {
  const result: Record<string, unknown> = {};
  for (const [key, schema] of Object.entries(shape)) {
    const value = raw[key];
    if (value === undefined || value === null) continue;

    const parsed = schema.safeParse(value);
    if (parsed.success) {
      result[key] = parsed.data;
      continue;
    }
    issues.push({
      field: `${path}${key}`,
      value,
      reason: `invalid value, left out (${describeError(parsed.error)})`,
    });
  }
  return result as Lenient<S>;
}

type ItemResult<T> = { ok: true; value: T } | { ok: false; issue: SchemaIssue };

export type ItemParser<T> = (item: unknown, path: string) => ItemResult<T>;

/**
 * Narrows a list field. A missing or null list is empty; an item that fails
 * `parseItem` is left out with an issue and the other items are kept.
 * `path` is the prefix of the list's own path, such as `kits[0].`.
 */
export function parseList<T>(
  raw: Record<string, unknown>,
  key: string,
  parseItem: ItemParser<T>,
  issues: SchemaIssue[],
  path = "",
): Positioned<T>[] {
  const value = raw[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    const field = `${path}${key}`;
    issues.push({ field, value, reason: "expected a list, left out" });
    return [];
  }

  const items: Positioned<T>[] = [];
  value.forEach((item, index) => {
    const parsed = parseItem(item, `${path}${key}[${index}]`);
    if (parsed.ok) items.push({ ...parsed.value, position: index });
    else issues.push(parsed.issue);
  });
  return items;
}

/** Builds an item parser for a list of objects of one zod schema. */
export function itemOf<T>(schema: z.ZodType<T>): ItemParser<T> {
  return (item, path) => {
    const parsed = schema.safeParse(item);
    if (parsed.success) return { ok: true, value: parsed.data };

    const reason = `invalid item, left out (${describeError(parsed.error)})`;
    return { ok: false, issue: { field: path, value: item, reason } };
  };
}

/** Builds an item parser that narrows an object field by field. */
export function lenientItemOf<S extends Shape>(
  shape: S,
  issues: SchemaIssue[],
): ItemParser<Lenient<S>> {
  return (item, path) => {
    if (!isRecord(item)) {
      const reason = "expected an object, left out";
      return { ok: false, issue: { field: path, value: item, reason } };
    }
    return { ok: true, value: parseFields(shape, item, `${path}.`, issues) };
  };
}

/**
 * Narrows an `ipDetail` object field by field. A missing or null value is
 * absent without an issue; a value that is not an object is absent with one.
 */
export function parseIpDetail(
  value: unknown,
  path: string,
  issues: SchemaIssue[],
): IpDetail | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) {
    issues.push({ field: path, value, reason: "expected an object, left out" });
    return undefined;
  }
  return parseFields(ipDetailFields, value, `${path}.`, issues);
}

/** Builds the parser of one `blockSet[]` item, its `ipDetail` included. */
function blockItemOf(issues: SchemaIssue[]): ItemParser<Block> {
  const parseBlock = lenientItemOf(blockFields, issues);
  return (item, path) => {
    const parsed = parseBlock(item, path);
    if (!parsed.ok) return parsed;

    const raw = (item as Record<string, unknown>).ipDetail;
    const ipDetail = parseIpDetail(raw, `${path}.ipDetail`, issues);
    const block: Block = ipDetail === undefined
      ? parsed.value
      : { ...parsed.value, ipDetail };
    return { ok: true, value: block };
  };
}

/** A vendor value that has the two things every threat needs. */
export type ThreatObject = Record<string, unknown> & { id: number };

/**
 * Checks that `raw` is an object with an integer `id`, the least a value
 * needs to be read as a threat, or returns why it is not.
 */
export function readThreatObject(
  raw: unknown,
): { ok: true; object: ThreatObject } | { ok: false; issue: SchemaIssue } {
  if (!isRecord(raw)) {
    const reason = "expected a ThreatHQ threat object";
    return { ok: false, issue: { field: "threat", value: raw, reason } };
  }
  if (!Number.isSafeInteger(raw.id)) {
    const reason = "expected an integer threat id";
    return { ok: false, issue: { field: "id", value: raw.id, reason } };
  }
  return { ok: true, object: raw as ThreatObject };
}

/**
 * Narrows one malware threat. Fails only when `raw` is not an object or has
 * no integer `id`. Every other mismatch drops the field or item concerned
 * and is listed in `issues`.
 */
export function parseMalwareThreat(raw: unknown): ThreatParseResult {
  const read = readThreatObject(raw);
  if (!read.ok) return { ok: false, issues: [read.issue] };

  const { object } = read;
  const issues: SchemaIssue[] = [];
  const list = <T>(key: string, parseItem: ItemParser<T>) =>
    parseList(object, key, parseItem, issues);

  const threat: MalwareThreat = {
    ...parseFields(threatScalarFields, object, "", issues),
    id: object.id,
    blockSet: list("blockSet", blockItemOf(issues)),
    executableSet: list(
      "executableSet",
      lenientItemOf(executableFields, issues),
    ),
    subjectSet: list("subjectSet", itemOf(subjectSchema)),
    extractedStringSet: list(
      "extractedStringSet",
      itemOf(extractedStringSchema),
    ),
    malwareFamilySet: list("malwareFamilySet", itemOf(malwareFamilySchema)),
    deliveryMechanisms: list(
      "deliveryMechanisms",
      itemOf(deliveryMechanismSchema),
    ),
    naicsCodes: list("naicsCodes", itemOf(naicsCodeSchema)),
    campaignBrandSet: list("campaignBrandSet", itemOf(campaignBrandSchema)),
    campaignLanguageSet: list(
      "campaignLanguageSet",
      itemOf(campaignLanguageSchema),
    ),
    secureEmailGatewaySet: list(
      "secureEmailGatewaySet",
      itemOf(secureEmailGatewaySchema),
    ),
  };
  return { ok: true, threat, issues };
}
