/**
 * File observables from `executableSet`: the file name and the hashes
 * OpenCTI accepts (MD5, SHA-1, SHA-256, SHA-512), each checked first.
 */
import { type HashAlgorithm, scoId, validHash } from "../stix/ids.ts";
import type { Executable } from "../threathq/threat_schema.ts";
import { effectiveImpact } from "./impact.ts";
import { LabelSet } from "./labels.ts";
import type { DraftCollection, FileDraft } from "./observable_draft.ts";
import type { ThreatContext } from "./threat_context.ts";

/** ThreatHQ's hash fields and their STIX names, with expected lengths. */
const HASH_FIELDS = [
  { field: "md5Hex", algorithm: "MD5", digits: 32 },
  { field: "sha1Hex", algorithm: "SHA-1", digits: 40 },
  { field: "sha256Hex", algorithm: "SHA-256", digits: 64 },
  { field: "sha512Hex", algorithm: "SHA-512", digits: 128 },
] as const satisfies ReadonlyArray<{
  field: keyof Executable;
  algorithm: HashAlgorithm;
  digits: number;
}>;

/**
 * Collects the valid hashes. A hash that is not hexadecimal of its
 * algorithm's length, such as the placeholder `md5` in public samples, is
 * dropped with a problem. The file keeps its other hashes and its name.
 */
function fileHashes(
  executable: Executable,
  path: string,
  context: ThreatContext,
): FileDraft["hashes"] {
  const hashes: NonNullable<FileDraft["hashes"]> = {};
  for (const { field, algorithm, digits } of HASH_FIELDS) {
    const raw = executable[field];
    const value = raw?.trim() ?? "";
    if (value === "") continue;

    if (validHash(algorithm, value)) {
      hashes[algorithm] = value;
      continue;
    }
    context.problems.add(
      `${path}.${field}`,
      raw,
      `invalid ${algorithm} hash, expected ${digits} hexadecimal digits; dropped, the file keeps its other hashes and name`,
    );
  }
  return Object.keys(hashes).length > 0 ? hashes : undefined;
}

function fileLabels(executable: Executable): LabelSet {
  return new LabelSet([
    executable.malwareFamily?.familyName,
    executable.deliveryMechanism?.mechanismName,
    executable.type,
  ]);
}

/** Returns the name and hash fields of a file as Cofense sent them. */
function submittedIdentity(executable: Executable): Record<string, unknown> {
  const fields: Record<string, unknown> = { fileName: executable.fileName };
  for (const { field } of HASH_FIELDS) fields[field] = executable[field];
  return fields;
}

function mapExecutable(
  executable: Executable,
  path: string,
  context: ThreatContext,
  drafts: DraftCollection,
): void {
  const impact = effectiveImpact(executable.severityLevel);
  if (context.options.impactToExclude.includes(impact)) return;

  const labels = fileLabels(executable);
  context.reportLabels.addAll(labels.toArray());

  const hashes = fileHashes(executable, path, context);
  const name = executable.fileName?.trim() || undefined;
  if (hashes === undefined && name === undefined) {
    context.problems.add(
      path,
      submittedIdentity(executable),
      "file has neither a valid MD5, SHA-1, SHA-256 or SHA-512 hash nor a name; skipped",
    );
    return;
  }

  drafts.add({
    kind: "file",
    id: scoId("file", { hashes, name }),
    name,
    hashes,
    impact,
    labels,
  });
}

/** Maps every file of the threat into `drafts`. */
export function mapExecutables(
  context: ThreatContext,
  drafts: DraftCollection,
): void {
  for (const executable of context.threat.executableSet) {
    const path = `executableSet[${executable.position}]`;
    mapExecutable(executable, path, context, drafts);
  }
}
