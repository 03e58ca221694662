/**
 * Downloads the files attached to a threat's OpenCTI report: the PDF
 * report of a malware threat that has one (`hasReport: true`) and the
 * screenshot of a phish threat that names one. Both are fetched only when
 * `import_report_pdf` is on, and both have the size limit
 * `import_report_pdf_max_bytes`. A file that is missing, invalid, too
 * large or fails to download leaves the threat without it and adds a
 * problem. The threat is still mapped.
 */
import { z } from "zod";
import type { Logger } from "../log/logger.ts";
import type { ThreatHqApi } from "./api.ts";
import type { ThreatEvent } from "./changelog.ts";
import { isThreatHqError, ThreatHqAuthError } from "./errors.ts";
import type { ImageType } from "./image_type.ts";
import { screenshotUrlOf } from "./phish_schema.ts";
import type { SyncProblem } from "./threat_fetch.ts";

/** A file to attach to the threat's OpenCTI report (`x_opencti_files`). */
export interface ReportAttachment {
  /** `Report-<threat id>.pdf` or `Screenshot-<threat id>.<png|jpg|gif>`. */
  name: string;
  mimeType: "application/pdf" | ImageType["mimeType"];
  data: Uint8Array;
}

/** The parts of the sync engine's context that the downloads use. */
export interface AttachmentContext {
  api: ThreatHqApi;
  logger: Logger;
  signal: AbortSignal;
  importReportPdf: boolean;
  pdfMaxBytes: number;
}

/** The files of one threat, and a problem for each one left off. */
export interface ThreatAttachments {
  attachments: ReportAttachment[];
  problems: SyncProblem[];
}

type FileOutcome =
  | { attachment: ReportAttachment }
  | { problem: SyncProblem };

const reportFlagSchema = z.looseObject({ hasReport: z.unknown().optional() });

function wantsPdf(
  event: ThreatEvent,
  detail: unknown,
  context: AttachmentContext,
): boolean {
  if (!context.importReportPdf || event.threatType !== "malware") return false;
  const flags = reportFlagSchema.safeParse(detail);
  return flags.success && flags.data.hasReport === true;
}

function wantsScreenshot(
  event: ThreatEvent,
  detail: unknown,
  context: AttachmentContext,
): boolean {
  if (!context.importReportPdf || event.threatType !== "phish") return false;
  // The URL only shows that a screenshot exists. It is never requested,
  // because it may name any host: the request is built from the id.
  return screenshotUrlOf(detail) !== undefined;
}

/**
 * Downloads the threat's PDF report or screenshot, as its type and detail
 * call for. Rethrows a rejected token and an abort, which end the run.
 */
export async function fetchAttachments(
  event: ThreatEvent,
  detail: unknown,
  context: AttachmentContext,
): Promise<ThreatAttachments> {
  const outcomes: FileOutcome[] = [];
  if (wantsPdf(event, detail, context)) {
    outcomes.push(await fetchReportPdf(event, context));
  }
  if (wantsScreenshot(event, detail, context)) {
    outcomes.push(await fetchScreenshot(event, context));
  }

  const result: ThreatAttachments = { attachments: [], problems: [] };
  for (const outcome of outcomes) {
    if ("attachment" in outcome) result.attachments.push(outcome.attachment);
    else result.problems.push(outcome.problem);
  }
  return result;
}

/** Turns a download failure into a problem. Rethrows an error that ends the run. */
function downloadFailure(
  error: unknown,
  event: ThreatEvent,
  file: "PDF report" | "screenshot",
  context: AttachmentContext,
): SyncProblem {
  if (error instanceof ThreatHqAuthError || !isThreatHqError(error)) {
    throw error;
  }

  const message = file === "PDF report"
    ? "Left a ThreatHQ PDF report off: the download failed"
    : "Left a ThreatHQ screenshot off: the download failed";
  context.logger.warn(message, {
    threat_id: event.threatId,
    error: error.message,
  });
  return {
    threatType: event.threatType,
    threatId: event.threatId,
    threatSkipped: false,
    reason: file === "PDF report" ? "pdf_failed" : "screenshot_failed",
    message: error.message,
  };
}

async function fetchReportPdf(
  event: ThreatEvent,
  context: AttachmentContext,
): Promise<FileOutcome> {
  const base = {
    threatType: event.threatType,
    threatId: event.threatId,
    threatSkipped: false,
  };

  let pdf;
  try {
    pdf = await context.api.pdf(event.threatId, {
      maxBytes: context.pdfMaxBytes,
      signal: context.signal,
    });
  } catch (error) {
    return { problem: downloadFailure(error, event, "PDF report", context) };
  }

  if (pdf.kind === "pdf") {
    const name = `Report-${event.threatId}.pdf`;
    return {
      attachment: { name, mimeType: "application/pdf", data: pdf.data },
    };
  }
  if (pdf.kind === "missing") {
    context.logger.warn("ThreatHQ has no PDF report for a threat", {
      threat_id: event.threatId,
      status: pdf.error.status,
    });
    const message =
      `ThreatHQ answered HTTP 500 for the PDF report of ${event.threatId}`;
    return { problem: { ...base, reason: "pdf_missing", message } };
  }
  if (pdf.kind === "too_large") {
    context.logger.warn("Left a ThreatHQ PDF report off: it is too large", {
      threat_id: event.threatId,
      bytes: pdf.bytes,
      size_is_exact: pdf.exact,
      max_bytes: context.pdfMaxBytes,
    });
    const message = `the PDF report of ${event.threatId} has ${
      sizeText(pdf)
    }, over the limit of ${context.pdfMaxBytes} (COFENSE_THREATHQ_IMPORT_REPORT_PDF_MAX_BYTES)`;
    return { problem: { ...base, reason: "pdf_too_large", message } };
  }

  context.logger.warn("Left a ThreatHQ PDF report off: the body is not a PDF", {
    threat_id: event.threatId,
    first_bytes: pdf.firstBytes,
  });
  const message =
    `the PDF report of ${event.threatId} does not start with %PDF-`;
  return { problem: { ...base, reason: "pdf_invalid", message } };
}

async function fetchScreenshot(
  event: ThreatEvent,
  context: AttachmentContext,
): Promise<FileOutcome> {
  const base = {
    threatType: event.threatType,
    threatId: event.threatId,
    threatSkipped: false,
  };

  let image;
  try {
    image = await context.api.screenshot(event.threatId, {
      maxBytes: context.pdfMaxBytes,
      signal: context.signal,
    });
  } catch (error) {
    return { problem: downloadFailure(error, event, "screenshot", context) };
  }

  if (image.kind === "image") {
    const name = `Screenshot-${event.threatId}.${image.extension}`;
    return {
      attachment: { name, mimeType: image.mimeType, data: image.data },
    };
  }
  if (image.kind === "missing") {
    context.logger.warn("ThreatHQ has no screenshot for a phish threat", {
      threat_id: event.threatId,
      status: image.error.status,
    });
    const message =
      `ThreatHQ answered HTTP 404 for the screenshot of ${event.threatId}`;
    return { problem: { ...base, reason: "screenshot_missing", message } };
  }
  if (image.kind === "too_large") {
    context.logger.warn("Left a ThreatHQ screenshot off: it is too large", {
      threat_id: event.threatId,
      bytes: image.bytes,
      size_is_exact: image.exact,
      max_bytes: context.pdfMaxBytes,
    });
    const message = `the screenshot of ${event.threatId} has ${
      sizeText(image)
    }, over the limit of ${context.pdfMaxBytes} (COFENSE_THREATHQ_IMPORT_REPORT_PDF_MAX_BYTES)`;
    return { problem: { ...base, reason: "screenshot_too_large", message } };
  }

  context.logger.warn(
    "Left a ThreatHQ screenshot off: the body is not a PNG, JPEG or GIF image",
    { threat_id: event.threatId, first_bytes: image.firstBytes },
  );
  const message =
    `the screenshot of ${event.threatId} is not a PNG, JPEG or GIF image (first bytes ${image.firstBytes})`;
  return { problem: { ...base, reason: "screenshot_invalid", message } };
}

function sizeText(size: { bytes: number; exact: boolean }): string {
  return `${size.exact ? "" : "at least "}${size.bytes} bytes`;
}
