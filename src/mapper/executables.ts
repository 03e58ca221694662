/**
 * File observables from `executableSet`: the file name and the hashes
 * OpenCTI accepts (MD5, SHA-1, SHA-256, SHA-512), each checked first.
 * Each file is linked to the malware it names.
 */
import { scoId } from "../stix/ids.ts";
import type { Executable } from "../threathq/threat_schema.ts";
import { checkedHashes, type KeptAlgorithm } from "./file_hashes.ts";
import { effectiveImpact, isExcluded } from "./impact.ts";
import { LabelSet } from "./labels.ts";
import { malwareRefsOf } from "./malware.ts";
import type { DraftCollection, FileDraft } from "./observable_draft.ts";
import type { ThreatContext } from "./threat_context.ts";

/** ThreatHQ's hash fields of a file and the algorithm of each. */
const HASH_FIELDS = [
  { field: "md5Hex", algorithm: "MD5" },
  { field: "sha1Hex", algorithm: "SHA-1" },
  { field: "sha256Hex", algorithm: "SHA-256" },
  { field: "sha512Hex", algorithm: "SHA-512" },
] as const satisfies ReadonlyArray<{
  field: keyof Executable;
  algorithm: KeptAlgorithm;
}>;

function fileHashes(
  executable: Executable,
  path: string,
  context: ThreatContext,
): FileDraft["hashes"] {
  const fields = HASH_FIELDS.map(({ field, algorithm }) => ({
    field,
    algorithm,
    value: executable[field],
  }));
  return checkedHashes(fields, path, context.problems);
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
  const { severityLevel } = executable;
  if (isExcluded(severityLevel, context.options.impactToExclude)) return;
  const impact = effectiveImpact(severityLevel);

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
    malwareRefs: malwareRefsOf(executable.malwareFamily, context.families),
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
