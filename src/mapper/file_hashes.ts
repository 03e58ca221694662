/**
 * The file hashes OpenCTI accepts (MD5, SHA-1, SHA-256, SHA-512), read
 * from ThreatHQ's hash fields and each checked first.
 */
import { validHash } from "../stix/ids.ts";
import type { FileDraft } from "./observable_draft.ts";
import type { ProblemLog } from "./problem_log.ts";

/** The algorithms kept, with the number of hexadecimal digits of each. */
export const HASH_DIGITS = {
  "MD5": 32,
  "SHA-1": 40,
  "SHA-256": 64,
  "SHA-512": 128,
} as const;

export type KeptAlgorithm = keyof typeof HASH_DIGITS;

/** One ThreatHQ hash field and the algorithm it holds. */
export interface HashField {
  field: string;
  algorithm: KeptAlgorithm;
  value: string | undefined;
}

/**
 * Collects the valid hashes, or returns undefined when none is valid. A
 * hash that is not hexadecimal of its algorithm's length, such as the
 * placeholder `md5` in public samples, is dropped with a problem at
 * `<path>.<field>`. The file keeps its other hashes and its name.
 */
export function checkedHashes(
  fields: readonly HashField[],
  path: string,
  problems: ProblemLog,
): FileDraft["hashes"] {
  const hashes: NonNullable<FileDraft["hashes"]> = {};
  for (const { field, algorithm, value: raw } of fields) {
    const value = raw?.trim() ?? "";
    if (value === "") continue;

    if (validHash(algorithm, value)) {
      hashes[algorithm] = value;
      continue;
    }
    problems.add(
      `${path}.${field}`,
      raw,
      `invalid ${algorithm} hash, expected ${
        HASH_DIGITS[algorithm]
      } hexadecimal digits; dropped, the file keeps its other hashes and name`,
    );
  }
  return Object.keys(hashes).length > 0 ? hashes : undefined;
}
