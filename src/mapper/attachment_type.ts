/**
 * The media type of a file attached to a report. OpenCTI shows PDFs and
 * images inline only when `mime_type` names them, so a file that arrives
 * without a useful type gets one from its first bytes.
 */
import type { Attachment } from "./mapping_types.ts";

/** Media types that do not name the content's format. */
const GENERIC_TYPES = new Set([
  "",
  "application/octet-stream",
  "binary/octet-stream",
]);

interface Signature {
  type: string;
  /** Byte sequences and the offset each must be found at. */
  parts: ReadonlyArray<{ offset: number; bytes: readonly number[] }>;
}

/** ASCII text as bytes, for the readable parts of signatures. */
function ascii(text: string): number[] {
  return [...text].map((char) => char.charCodeAt(0));
}

/** File signatures, checked in order against the start of the data. */
const SIGNATURES: readonly Signature[] = [
  { type: "application/pdf", parts: [{ offset: 0, bytes: ascii("%PDF-") }] },
  {
    type: "image/png",
    parts: [{ offset: 0, bytes: [0x89, ...ascii("PNG\r\n"), 0x1a, 0x0a] }],
  },
  { type: "image/jpeg", parts: [{ offset: 0, bytes: [0xff, 0xd8, 0xff] }] },
  { type: "image/gif", parts: [{ offset: 0, bytes: ascii("GIF8") }] },
  {
    type: "image/webp",
    parts: [
      { offset: 0, bytes: ascii("RIFF") },
      { offset: 8, bytes: ascii("WEBP") },
    ],
  },
];

function matches(data: Uint8Array, signature: Signature): boolean {
  return signature.parts.every(({ offset, bytes }) =>
    bytes.every((byte, index) => data[offset + index] === byte)
  );
}

/**
 * Returns the media type its first bytes show for a PDF, PNG, JPEG, GIF or
 * WebP file, else undefined.
 */
export function sniffMimeType(data: Uint8Array): string | undefined {
  return SIGNATURES.find((signature) => matches(data, signature))?.type;
}

/**
 * Returns the attachment's media type as given, or the one its bytes show
 * when the given one is blank or generic.
 */
export function attachmentMimeType(attachment: Attachment): string {
  const declared = attachment.mimeType.trim();
  if (!GENERIC_TYPES.has(declared.toLowerCase())) return declared;

  return sniffMimeType(attachment.data) ?? "application/octet-stream";
}
