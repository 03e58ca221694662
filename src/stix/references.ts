/**
 * Reference checks over a list of STIX objects, such as the objects of one
 * bundle before it is sent.
 */
import type { StixObject } from "./types.ts";

export interface DanglingReference {
  /** The id of the object that contains the reference. */
  from: string;
  /**
   * The property path, such as `object_refs` or
   * `x_opencti_files[0].object_marking_refs`.
   */
  property: string;
  /** The referenced id, which no object in the list has. */
  ref: string;
}

function isReferenceKey(key: string): boolean {
  return key.endsWith("_ref") || key.endsWith("_refs");
}

/** Calls `visit` for every reference value under `value`, at any depth. */
function walkReferences(
  value: unknown,
  path: string,
  visit: (property: string, ref: unknown) => void,
): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) =>
      walkReferences(item, `${path}[${index}]`, visit)
    );
    return;
  }
  if (typeof value !== "object" || value === null) return;

  for (const [key, member] of Object.entries(value)) {
    const property = path === "" ? key : `${path}.${key}`;
    if (!isReferenceKey(key)) {
      walkReferences(member, property, visit);
    } else if (Array.isArray(member)) {
      for (const ref of member) visit(property, ref);
    } else {
      visit(property, member);
    }
  }
}

/**
 * Lists every `*_ref` and `*_refs` value, at any depth, that names no
 * object in `objects`. That includes `x_opencti_created_by_ref`,
 * `object_marking_refs`, `object_refs`, `source_ref`, `target_ref` and the
 * markings of files in `x_opencti_files`. Null references are skipped.
 */
export function danglingReferences(
  objects: readonly StixObject[],
): DanglingReference[] {
  const ids = new Set(objects.map((object) => object.id));
  const dangling: DanglingReference[] = [];

  for (const object of objects) {
    walkReferences(object, "", (property, ref) => {
      if (ref === null || ref === undefined) return;
      if (typeof ref === "string" && ids.has(ref)) return;

      dangling.push({ from: object.id, property, ref: String(ref) });
    });
  }

  return dangling;
}
