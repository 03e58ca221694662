/**
 * The ThreatHQ endpoints the connector calls, with their bodies narrowed to
 * the few fields it reads. Threat details stay `unknown`: the mapper
 * validates them. Request times go out as integer epoch seconds, and every
 * time in a response is in epoch milliseconds.
 */
import { z } from "zod";
import {
  ThreatHqInvalidResponseError,
  ThreatHqNotFoundError,
  ThreatHqServerError,
} from "./errors.ts";
import type { ThreatHqClient } from "./http_client.ts";
import {
  detectImageType,
  firstBytesHex,
  IMAGE_ACCEPT,
  type ImageType,
} from "./image_type.ts";
import { releaseBytes } from "./limited_body.ts";

export type ThreatType = "malware" | "phish";

/** One event of the changelog (`threat/updates`). */
export interface ChangelogEntry {
  threatType: ThreatType;
  threatId: number;
  /** Epoch milliseconds. */
  occurredOn: number;
  deleted: boolean;
}

/** A changelog element that is not a valid entry, kept for the report. */
export interface InvalidChangelogEntry {
  entry: unknown;
  reason: string;
}

export interface ChangelogPage {
  nextPosition: string;
  entries: ChangelogEntry[];
  invalidEntries: InvalidChangelogEntry[];
}

/** The start of a changelog read: a saved position or a start time. */
export type ChangelogStart =
  | { position: string }
  | {
    /** Integer epoch seconds; ThreatHQ returns nothing for milliseconds. */
    timestamp: number;
  };

export interface SearchPage {
  threats: unknown[];
  /** 0-based; absent when ThreatHQ sent no `page` object. */
  currentPage?: number;
  totalPages?: number;
}

export interface ThreatKey {
  threatType: ThreatType;
  threatId: number;
}

export type PdfResult =
  | { kind: "pdf"; data: Uint8Array }
  /** HTTP 500, the status ThreatHQ returns for a missing report. */
  | { kind: "missing"; error: ThreatHqServerError }
  | { kind: "too_large"; bytes: number; exact: boolean }
  | { kind: "not_pdf"; firstBytes: string };

export type ScreenshotResult =
  | ({ kind: "image"; data: Uint8Array } & ImageType)
  /** HTTP 404: ThreatHQ has no screenshot for the threat. */
  | { kind: "missing"; error: ThreatHqNotFoundError }
  | { kind: "too_large"; bytes: number; exact: boolean }
  /** Neither PNG, JPEG nor GIF. `firstBytes` is in hex. */
  | { kind: "not_image"; firstBytes: string };

/** The maximum number of ids, and results, in one `threat/search` request. */
export const SEARCH_BATCH_SIZE = 100;

const changelogPageSchema = z.looseObject({
  nextPosition: z.string().min(1),
  changelog: z.array(z.unknown()),
});

/** Epoch milliseconds as a number or as a string of digits. */
const epochMsSchema = z.union([z.number(), z.string().regex(/^\d+$/)])
  .transform(Number);

const changelogEntrySchema = z.looseObject({
  threatId: z.union([z.number().int(), z.string().regex(/^\d+$/)])
    .transform(Number),
  threatType: z.string().transform((type) => type.trim().toLowerCase()).pipe(
    z.enum(["malware", "phish"]),
  ),
  occurredOn: epochMsSchema.optional(),
  // The 2017 API reference names the event time `timestamp`.
  timestamp: epochMsSchema.optional(),
  deleted: z.union([
    z.boolean(),
    z.enum(["true", "false"]).transform((text) => text === "true"),
  ]).optional(),
});

const searchPageSchema = z.looseObject({
  page: z.looseObject({
    currentPage: z.number().int(),
    totalPages: z.number().int(),
  }).optional(),
  threats: z.array(z.unknown()),
});

const PDF_MAGIC = "%PDF-";

function narrowEntry(
  raw: unknown,
): ChangelogEntry | InvalidChangelogEntry {
  const parsed = changelogEntrySchema.safeParse(raw);
  if (!parsed.success) {
    return { entry: raw, reason: z.prettifyError(parsed.error) };
  }

  const occurredOn = parsed.data.occurredOn ?? parsed.data.timestamp;
  if (occurredOn === undefined) {
    return { entry: raw, reason: "no occurredOn time" };
  }
  return {
    threatType: parsed.data.threatType,
    threatId: parsed.data.threatId,
    occurredOn,
    deleted: parsed.data.deleted ?? false,
  };
}

/** Returns `m_<id>` or `p_<id>`, the id form of `threat/search`. */
export function searchId(key: ThreatKey): string {
  return `${key.threatType === "malware" ? "m" : "p"}_${key.threatId}`;
}

function invalidShape(
  method: string,
  path: string,
  error: z.ZodError,
): ThreatHqInvalidResponseError {
  return new ThreatHqInvalidResponseError(
    { method, path, status: 200 },
    z.prettifyError(error),
  );
}

export interface ThreatHqApi {
  updates(start: ChangelogStart, signal?: AbortSignal): Promise<ChangelogPage>;
  search(
    keys: readonly ThreatKey[],
    options?: { page?: number; signal?: AbortSignal },
  ): Promise<SearchPage>;
  malware(threatId: number, signal?: AbortSignal): Promise<unknown>;
  phish(threatId: number, signal?: AbortSignal): Promise<unknown>;
  /** The malware report as PDF; a 500 is returned as `missing`, never retried. */
  pdf(
    threatId: number,
    options: { maxBytes: number; signal?: AbortSignal },
  ): Promise<PdfResult>;
  /**
   * The screenshot of a phish threat's page (`screenshot/{id}`). A 404 is
   * returned as `missing`. The request always goes to the base URL, built
   * from the threat id, whatever URL the threat names.
   */
  screenshot(
    threatId: number,
    options: { maxBytes: number; signal?: AbortSignal },
  ): Promise<ScreenshotResult>;
  /** The feeds the token may read: a cheap check of the credentials. */
  feed(signal?: AbortSignal): Promise<unknown>;
}

export function createThreatHqApi(client: ThreatHqClient): ThreatHqApi {
  const base = new URL(client.baseUrl).pathname;

  async function updates(start: ChangelogStart, signal?: AbortSignal) {
    const parameter: [string, string] = "position" in start
      ? ["position", start.position]
      : ["timestamp", String(Math.floor(start.timestamp))];
    const data = await client.json({
      method: "POST",
      path: "threat/updates",
      endpoint: "threat/updates",
      searchParams: [parameter],
      signal,
    });

    const page = changelogPageSchema.safeParse(data);
    if (!page.success) {
      throw invalidShape("POST", `${base}threat/updates`, page.error);
    }
    const entries: ChangelogEntry[] = [];
    const invalidEntries: InvalidChangelogEntry[] = [];
    for (const raw of page.data.changelog) {
      const entry = narrowEntry(raw);
      if ("reason" in entry) invalidEntries.push(entry);
      else entries.push(entry);
    }
    return { nextPosition: page.data.nextPosition, entries, invalidEntries };
  }

  async function search(
    keys: readonly ThreatKey[],
    options: { page?: number; signal?: AbortSignal } = {},
  ): Promise<SearchPage> {
    const searchParams: Array<[string, string]> = keys.map((key) => [
      "threatId",
      searchId(key),
    ]);
    searchParams.push(["resultsPerPage", String(SEARCH_BATCH_SIZE)]);
    searchParams.push(["page", String(options.page ?? 0)]);
    const data = await client.json({
      method: "POST",
      path: "threat/search",
      endpoint: "threat/search",
      searchParams,
      signal: options.signal,
    });

    const page = searchPageSchema.safeParse(data);
    if (!page.success) {
      throw invalidShape("POST", `${base}threat/search`, page.error);
    }
    return {
      threats: page.data.threats,
      currentPage: page.data.page?.currentPage,
      totalPages: page.data.page?.totalPages,
    };
  }

  const detail = (type: ThreatType) => (id: number, signal?: AbortSignal) =>
    client.json({
      method: "GET",
      path: `threat/${type}/${id}`,
      endpoint: `threat/${type}/{id}`,
      signal,
    });

  async function pdf(
    threatId: number,
    options: { maxBytes: number; signal?: AbortSignal },
  ): Promise<PdfResult> {
    let body;
    try {
      body = await client.bytes({
        method: "GET",
        path: `t3/malware/${threatId}/pdf`,
        endpoint: "t3/malware/{id}/pdf",
        noRetryStatuses: [500],
        signal: options.signal,
      }, { maxBytes: options.maxBytes, accept: "application/pdf" });
    } catch (error) {
      if (error instanceof ThreatHqServerError && error.status === 500) {
        return { kind: "missing", error };
      }
      throw error;
    }

    if (body.kind === "too_large") return body;
    const head = new TextDecoder("latin1").decode(body.data.subarray(0, 5));
    if (head !== PDF_MAGIC) {
      releaseBytes(body.data);
      return { kind: "not_pdf", firstBytes: head };
    }
    return { kind: "pdf", data: body.data };
  }

  // NOTE: which status ThreatHQ returns for a phish without a screenshot is
  // not documented. A 404 is taken as missing, and a 5xx is retried.
  async function screenshot(
    threatId: number,
    options: { maxBytes: number; signal?: AbortSignal },
  ): Promise<ScreenshotResult> {
    let body;
    try {
      body = await client.bytes({
        method: "GET",
        path: `screenshot/${threatId}`,
        endpoint: "screenshot/{id}",
        signal: options.signal,
      }, { maxBytes: options.maxBytes, accept: IMAGE_ACCEPT });
    } catch (error) {
      if (error instanceof ThreatHqNotFoundError) {
        return { kind: "missing", error };
      }
      throw error;
    }

    if (body.kind === "too_large") return body;
    const type = detectImageType(body.data);
    if (type === undefined) {
      const firstBytes = firstBytesHex(body.data);
      releaseBytes(body.data);
      return { kind: "not_image", firstBytes };
    }
    return { kind: "image", data: body.data, ...type };
  }

  const feed = (signal?: AbortSignal) =>
    client.json({ method: "GET", path: "feed/", endpoint: "feed", signal });

  return {
    updates,
    search,
    malware: detail("malware"),
    phish: detail("phish"),
    pdf,
    screenshot,
    feed,
  };
}
