/** STIX bundles in the form pycti's `stix2_create_bundle` writes them. */
import type { Bundle, StixObject } from "./types.ts";

const BUNDLE_ID_PATTERN =
  /^bundle--[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * Wraps objects in a bundle with a random `bundle--<uuid v4>` id unless
 * `id` is given. Like pycti (6.x), it writes `spec_version: "2.1"`, which
 * STIX 2.1 bundles do not define and OpenCTI accepts.
 *
 * Throws a `TypeError` for an `id` that is not `bundle--<lower-case UUID>`.
 */
export function makeBundle(
  objects: readonly StixObject[],
  id: string = `bundle--${crypto.randomUUID()}`,
): Bundle {
  if (!BUNDLE_ID_PATTERN.test(id)) {
    throw new TypeError(
      `invalid bundle id ${
        JSON.stringify(id)
      }: expected bundle--<lower-case UUID>`,
    );
  }

  return { type: "bundle", id, spec_version: "2.1", objects: [...objects] };
}
