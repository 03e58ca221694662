/**
 * Zod schemas of a ThreatHQ phish (Brand Intelligence) threat: the `data` of
 * `GET threat/phish/{id}` and each element of `data.threats[]` in a
 * `POST threat/search` response whose `threatType` is `PHISH`.
 *
 * The shape follows the Brand Intelligence JSON schema and REST reference
 * shipped with PhishMe's Python SDK (phishme_intelligence 4.1.3), and the
 * `Kit` classes of Cofense's (cofense_intelligence 5.1.12). Each URL comes
 * as a URL-parts object (`phishingURL_1`, `reportedURLs_1`, `actionURLs_1`)
 * and, deprecated but still in the reference's examples, as a plain string
 * (`phishingURL`, `reportedURLs`, `actionURLs`). Kits list drop addresses
 * under `files[].emails[]` in the SDK and under `observedEmails[]` in the
 * REST reference's search fields, so both are read.
 *
 * Like the malware schema, `parsePhishThreat` narrows field by field and
 * rejects only a value that is not an object or has no integer `id`.
 */
import { z } from "zod";
import {
  epochMsSchema,
  type IpDetail,
  itemOf,
  type ItemParser,
  type Lenient,
  lenientItemOf,
  parseFields,
  parseIpDetail,
  parseList,
  type Positioned,
  readThreatObject,
  type SchemaIssue,
  type UrlParts,
  urlPartsSchema,
} from "./threat_schema.ts";

export const brandSchema = z.looseObject({
  id: z.number().optional(),
  text: z.string(),
});

export const screenshotSchema = z.looseObject({
  /** Deprecated: the screenshot's URL as a string. */
  url: z.string().optional(),
  url_1: urlPartsSchema.optional(),
});

export const pageLanguageSchema = z.looseObject({
  languageDefinition: z.looseObject({
    isoCode: z.string().optional(),
    name: z.string().optional(),
    nativeName: z.string().optional(),
    family: z.string().optional(),
  }).optional(),
  probability: z.number().optional(),
});

/** A deprecated string URL, read into the shape of a URL-parts object. */
const deprecatedUrlSchema = z.string().transform((url) => ({ url }));

/** Lenient shapes of the phish threat's scalar fields, field by field. */
export const phishScalarFields = {
  threatType: z.string(),
  title: z.string(),
  threatDetailURL: z.string(),
  confirmedDate: epochMsSchema,
  firstDate: epochMsSchema,
  lastDate: epochMsSchema,
  processingState: z.string(),
  isConfirmedPhishingWebsite: z.string(),
  phishingURL: z.string(),
  phishingURL_1: urlPartsSchema,
  screenshot: screenshotSchema,
  language: pageLanguageSchema,
};

const kitHashFields = {
  md5: z.string(),
  sha1: z.string(),
  sha224: z.string(),
  sha256: z.string(),
  sha384: z.string(),
  sha512: z.string(),
  ssdeep: z.string(),
};

/** Lenient shapes of one `kits[]` item: the kit archive. */
export const kitFields = {
  kitName: z.string(),
  fileSize: z.number(),
  ...kitHashFields,
};

/** Lenient shapes of one `kits[].files[]` item: a file inside the kit. */
export const kitFileFields = {
  fileName: z.string(),
  size: z.number(),
  path: z.string(),
  ...kitHashFields,
};

/** An email address found in a kit, usually where it sends credentials. */
export const kitEmailSchema = z.looseObject({
  email: z.string(),
  obfuscationType: z.string().optional(),
});

export type Brand = z.output<typeof brandSchema>;
export type Screenshot = z.output<typeof screenshotSchema>;
export type PageLanguage = z.output<typeof pageLanguageSchema>;
export type KitEmail = z.output<typeof kitEmailSchema>;
export type KitFile = Lenient<typeof kitFileFields> & {
  emails: Positioned<KitEmail>[];
};
export type Kit = Lenient<typeof kitFields> & {
  files: Positioned<KitFile>[];
  observedEmails: Positioned<KitEmail>[];
};

/** A deprecated string URL, in the shape of URL parts with only `url`. */
export type ListedUrl = { url: string };

/** A phish threat after narrowing; every list is present, maybe empty. */
export type PhishThreat = Lenient<typeof phishScalarFields> & {
  id: number;
  brands: Positioned<Brand>[];
  reportedURLs_1: Positioned<UrlParts>[];
  /** Deprecated string URLs, each read as `{ url }`. */
  reportedURLs: Positioned<ListedUrl>[];
  actionURLs_1: Positioned<UrlParts>[];
  actionURLs: Positioned<ListedUrl>[];
  kits: Positioned<Kit>[];
  ipDetail?: IpDetail;
};

export type PhishParseResult =
  | { ok: true; threat: PhishThreat; issues: SchemaIssue[] }
  | { ok: false; issues: SchemaIssue[] };

function kitFileItemOf(issues: SchemaIssue[]): ItemParser<KitFile> {
  const parseFile = lenientItemOf(kitFileFields, issues);
  return (item, path) => {
    const parsed = parseFile(item, path);
    if (!parsed.ok) return parsed;

    const raw = item as Record<string, unknown>;
    const emails = parseList(
      raw,
      "emails",
      itemOf(kitEmailSchema),
      issues,
      `${path}.`,
    );
    return { ok: true, value: { ...parsed.value, emails } };
  };
}

function kitItemOf(issues: SchemaIssue[]): ItemParser<Kit> {
  const parseKit = lenientItemOf(kitFields, issues);
  return (item, path) => {
    const parsed = parseKit(item, path);
    if (!parsed.ok) return parsed;

    const raw = item as Record<string, unknown>;
    const prefix = `${path}.`;
    const files = parseList(
      raw,
      "files",
      kitFileItemOf(issues),
      issues,
      prefix,
    );
    const observedEmails = parseList(
      raw,
      "observedEmails",
      itemOf(kitEmailSchema),
      issues,
      prefix,
    );
    return { ok: true, value: { ...parsed.value, files, observedEmails } };
  };
}

/**
 * Narrows one phish threat. Fails only when `raw` is not an object or has
 * no integer `id`. Every other mismatch drops the field or item concerned
 * and is listed in `issues`.
 */
export function parsePhishThreat(raw: unknown): PhishParseResult {
  const read = readThreatObject(raw);
  if (!read.ok) return { ok: false, issues: [read.issue] };

  const { object } = read;
  const issues: SchemaIssue[] = [];
  const list = <T>(key: string, parseItem: ItemParser<T>) =>
    parseList(object, key, parseItem, issues);

  const ipDetail = parseIpDetail(object.ipDetail, "ipDetail", issues);
  const threat: PhishThreat = {
    ...parseFields(phishScalarFields, object, "", issues),
    id: object.id,
    brands: list("brands", itemOf(brandSchema)),
    reportedURLs_1: list("reportedURLs_1", itemOf(urlPartsSchema)),
    reportedURLs: list("reportedURLs", itemOf(deprecatedUrlSchema)),
    actionURLs_1: list("actionURLs_1", itemOf(urlPartsSchema)),
    actionURLs: list("actionURLs", itemOf(deprecatedUrlSchema)),
    kits: list("kits", kitItemOf(issues)),
    ...(ipDetail === undefined ? {} : { ipDetail }),
  };
  return { ok: true, threat, issues };
}

/**
 * Returns the URL of the phish's screenshot (`screenshot.url_1.url`, else
 * the deprecated `screenshot.url`), or undefined when there is none.
 */
export function phishScreenshotUrl(threat: PhishThreat): string | undefined {
  const candidates = [threat.screenshot?.url_1?.url, threat.screenshot?.url];
  return candidates.map((url) => url?.trim()).find((url) =>
    url !== undefined && url !== ""
  );
}

/**
 * Returns the screenshot URL of a raw phish threat, as `phishScreenshotUrl`
 * does, or undefined when `raw` is no phish threat or has no screenshot.
 */
export function screenshotUrlOf(raw: unknown): string | undefined {
  const parsed = parsePhishThreat(raw);
  return parsed.ok ? phishScreenshotUrl(parsed.threat) : undefined;
}
