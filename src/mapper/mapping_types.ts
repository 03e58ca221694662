/** The types the mapper's callers see: options, problems, results. */
import type { Impact, TlpLevel } from "../config/settings.ts";
import type { StixObject } from "../stix/types.ts";
import type { ThreatType } from "../threathq/api.ts";

/** Mapping settings, from `cofense_threathq.*` in the configuration. */
export interface MappingOptions {
  /** TLP marking of every object made. */
  tlp: TlpLevel;
  /** Impacts whose blocks and files are left out. */
  impactToExclude: readonly Impact[];
  /** Whether observables also become indicators. */
  promoteIndicators: boolean;
}

/** A vendor value that was skipped, dropped or could not be read. */
export interface MappingProblem {
  threatId: string;
  /** Path of the value in the threat, such as `blockSet[2].data_1`. */
  field: string;
  value: unknown;
  reason: string;
}

/**
 * A file attached to the report, such as a malware threat's PDF or a
 * phish's screenshot. A blank or generic `mimeType`
 * (`application/octet-stream`) is replaced by the type the bytes show for
 * a PDF, PNG, JPEG, GIF or WebP file.
 */
export interface Attachment {
  name: string;
  mimeType: string;
  data: Uint8Array;
}

/** Inputs a threat object does not carry itself. */
export interface MappingContext {
  /**
   * Epoch milliseconds of the changelog entry that announced the threat:
   * the report's date when the threat has no publication dates.
   */
  changelogTime?: number;
  attachments?: Attachment[];
}

export interface MappedThreat {
  threatType: ThreatType;
  threatId: number;
  /** Id of the report, which stays the same across Cofense's edits. */
  reportId: string;
  /**
   * The name the report id is computed from with `published`:
   * `Cofense ThreatHQ <threatType> <threatId>`.
   */
  stableName: string;
  /** Every object the threat needs, author and marking included. */
  objects: StixObject[];
  problems: MappingProblem[];
}

export type MapResult =
  | { ok: true; threat: MappedThreat }
  | { ok: false; problems: MappingProblem[] };
