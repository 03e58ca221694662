/**
 * STIX 2.1 patterning: string literals and the comparison patterns the
 * connector's indicators use.
 */
import { type HashAlgorithm, hashAlgorithm, validHash } from "./hashes.ts";

/**
 * Escapes a value for a STIX pattern string literal, whose grammar only
 * escapes the backslash and the single quote. Other characters, non-ASCII
 * and line breaks included, stay as they are.
 */
export function escapePatternString(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("'", "\\'");
}

/** Builds `[<objectPath> = '<value>']`, such as `[url:value = '…']`. */
export function equalityPattern(objectPath: string, value: string): string {
  return `[${objectPath} = '${escapePatternString(value)}']`;
}

/**
 * The order of comparisons in a file pattern: the strongest common digest
 * first, so the same hashes always give the same pattern and indicator id.
 */
const PATTERN_HASH_ORDER: readonly HashAlgorithm[] = [
  "SHA-512",
  "SHA-256",
  "SHA-1",
  "MD5",
  "SHA3-512",
  "SHA3-256",
  "TLSH",
  "SSDEEP",
];

/**
 * Quotes a hash name, as `'SHA-256'` and `'MD5'`. STIX requires quotes only
 * around names with a hyphen. Quoting every name gives the same pattern as
 * the Python connector writes, and so the same indicator id.
 */
function hashPathComponent(algorithm: HashAlgorithm): string {
  return `'${algorithm}'`;
}

/**
 * Builds one observation that matches a file by any of its valid hashes,
 * such as `[file:hashes.'SHA-256' = '…' OR file:hashes.'MD5' = '…']`. Keys
 * may be written loosely (`md5`, `SHA256`). Hashes that are invalid or
 * outside the STIX vocabulary are left out.
 *
 * Throws a `TypeError` naming the input when no hash is valid.
 */
export function filePattern(hashes: Record<string, unknown>): string {
  const valid = new Map<HashAlgorithm, string>();
  for (const [key, value] of Object.entries(hashes)) {
    const algorithm = hashAlgorithm(key);
    if (algorithm === undefined || valid.has(algorithm)) continue;
    if (validHash(algorithm, value)) valid.set(algorithm, value as string);
  }

  const comparisons = PATTERN_HASH_ORDER
    .filter((algorithm) => valid.has(algorithm))
    .map((algorithm) => {
      const path = `file:hashes.${hashPathComponent(algorithm)}`;
      return `${path} = '${escapePatternString(valid.get(algorithm)!)}'`;
    });

  if (comparisons.length === 0) {
    throw new TypeError(
      `no valid hash in ${JSON.stringify(hashes)}: a file pattern needs one`,
    );
  }
  return `[${comparisons.join(" OR ")}]`;
}
