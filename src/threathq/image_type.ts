/**
 * Recognises the image formats a ThreatHQ phish screenshot may have by
 * their magic bytes, since the Content-Type header of a download is not
 * proof of its content.
 */

export interface ImageType {
  mimeType: "image/png" | "image/jpeg" | "image/gif";
  /** File name extension without the dot. */
  extension: "png" | "jpg" | "gif";
}

interface Signature extends ImageType {
  magic: readonly number[];
}

const SIGNATURES: readonly Signature[] = [
  {
    mimeType: "image/png",
    extension: "png",
    magic: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
  },
  { mimeType: "image/jpeg", extension: "jpg", magic: [0xff, 0xd8, 0xff] },
  // "GIF87a" and "GIF89a".
  {
    mimeType: "image/gif",
    extension: "gif",
    magic: [0x47, 0x49, 0x46, 0x38, 0x37, 0x61],
  },
  {
    mimeType: "image/gif",
    extension: "gif",
    magic: [0x47, 0x49, 0x46, 0x38, 0x39, 0x61],
  },
];

/** The `Accept` header of a screenshot request. */
export const IMAGE_ACCEPT = "image/png, image/jpeg, image/gif";

/** Returns the PNG, JPEG or GIF type of `data`, or undefined for others. */
export function detectImageType(data: Uint8Array): ImageType | undefined {
  const signature = SIGNATURES.find(({ magic }) =>
    data.byteLength >= magic.length &&
    magic.every((byte, index) => data[index] === byte)
  );
  if (signature === undefined) return undefined;
  return { mimeType: signature.mimeType, extension: signature.extension };
}

/** Formats the first bytes of a body as hex, for logs and problems. */
export function firstBytesHex(data: Uint8Array, count = 8): string {
  return [...data.subarray(0, count)]
    .map((byte) => byte.toString(16).padStart(2, "0"))
    .join(" ");
}
