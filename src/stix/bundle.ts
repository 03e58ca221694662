/** STIX bundles in the form pycti's `stix2_create_bundle` writes them. */
import { identifier } from "./property_schemas.ts";
import type { Bundle, StixObject } from "./types.ts";

const bundleId = identifier("bundle");

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
  if (!bundleId.safeParse(id).success) {
    throw new TypeError(
      `invalid bundle id ${
        JSON.stringify(id)
      }: expected bundle--<lower-case UUID>`,
    );
  }

  return { type: "bundle", id, spec_version: "2.1", objects: [...objects] };
}
