/**
 * STIX 2.1 hash algorithm names and value checks, as the `stix2` Python
 * library (3.0) applies them to `file` and `artifact` hashes.
 */

/** The hash algorithms of the STIX 2.1 `hash-algorithm-ov` vocabulary. */
export const HASH_ALGORITHMS = [
  "MD5",
  "SHA-1",
  "SHA-256",
  "SHA-512",
  "SHA3-256",
  "SHA3-512",
  "SSDEEP",
  "TLSH",
] as const;
export type HashAlgorithm = typeof HASH_ALGORITHMS[number];

const HASH_VALUE_PATTERNS: Record<HashAlgorithm, RegExp> = {
  "MD5": /^[0-9a-f]{32}$/i,
  "SHA-1": /^[0-9a-f]{40}$/i,
  "SHA-256": /^[0-9a-f]{64}$/i,
  "SHA-512": /^[0-9a-f]{128}$/i,
  "SHA3-256": /^[0-9a-f]{64}$/i,
  "SHA3-512": /^[0-9a-f]{128}$/i,
  "SSDEEP": /^[0-9a-z/+:.]{1,128}$/i,
  "TLSH": /^[0-9a-f]{70}$/i,
};

/** Algorithm names with hyphens removed and upper-cased, as `stix2` matches. */
const ALGORITHM_BY_FOLDED_NAME = new Map<string, HashAlgorithm>(
  HASH_ALGORITHMS.map((name) => [name.replaceAll("-", ""), name]),
);

/**
 * Returns the vocabulary name for a hash key written loosely (`md5`,
 * `SHA256`, `sha-1`), or undefined for a name outside the vocabulary, which
 * STIX allows as a custom hash key.
 */
export function hashAlgorithm(name: string): HashAlgorithm | undefined {
  return ALGORITHM_BY_FOLDED_NAME.get(name.replaceAll("-", "").toUpperCase());
}

/**
 * Returns whether `value` has the form of a hash of `algorithm`: hexadecimal
 * digits of the algorithm's length in either case, or the SSDEEP alphabet.
 */
export function validHash(algorithm: HashAlgorithm, value: unknown): boolean {
  return typeof value === "string" &&
    HASH_VALUE_PATTERNS[algorithm].test(value);
}

/**
 * Rewrites the keys of a hash dictionary to their vocabulary names and
 * checks every value of a known algorithm.
 *
 * Throws a `TypeError` naming the key and value when a value is not a valid
 * hash, and when two keys name the same algorithm.
 */
export function normalizeHashes(
  hashes: Record<string, unknown>,
): Record<string, string> {
  const normalized: Record<string, string> = {};

  for (const [key, value] of Object.entries(hashes)) {
    const name = hashAlgorithm(key) ?? key;
    if (typeof value !== "string") {
      throw new TypeError(
        `invalid ${name} hash ${JSON.stringify(value)}: expected a string`,
      );
    }

    const known = hashAlgorithm(key);
    if (known !== undefined && !validHash(known, value)) {
      throw new TypeError(
        `invalid ${known} hash ${
          JSON.stringify(value)
        }: drop it or give a valid ${known} value`,
      );
    }

    if (name in normalized) {
      throw new TypeError(
        `duplicate hash key ${JSON.stringify(key)}: ${name} is already set`,
      );
    }
    normalized[name] = value;
  }

  return normalized;
}
