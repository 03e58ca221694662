/**
 * Vulnerabilities from the CVE ids Cofense mentions in a threat's label,
 * executive summary, malware family and delivery mechanism descriptions,
 * block role descriptions, file subtype descriptions and extracted strings.
 *
 * A malware `exploits` a vulnerability only when one block or file names
 * both: its own family, and the CVE in one of its own descriptions. The
 * threat's only family does not stand in here, because a CVE named beside
 * a family ties the two more closely than one named anywhere in the threat.
 */
import { vulnerabilityId } from "../stix/ids.ts";
import type { Relationship, Vulnerability } from "../stix/types.ts";
import type {
  Block,
  Executable,
  MalwareFamily,
  MalwareThreat,
} from "../threathq/threat_schema.ts";
import { AUTHOR_ID, SHARED_OBJECT_TIME } from "./author.ts";
import { isExcluded } from "./impact.ts";
import { familyMalwareId } from "./malware.ts";
import { makeRelationship } from "./relationships.ts";
import type { ObjectContext, ThreatContext } from "./threat_context.ts";

/**
 * A CVE id in any case: `CVE-`, a four-digit year, `-` and at least four
 * digits, not inside a longer word.
 */
const CVE_PATTERN = /\bCVE-(\d{4})-(\d{4,})\b/gi;

/** The first year of CVE ids: the CVE list started in 1999. */
const FIRST_CVE_YEAR = 1999;

/**
 * Finds the well-formed CVE ids in a text, upper-cased, each once, in the
 * order they appear.
 */
export function findCveIds(text: string | undefined): string[] {
  const ids = new Set<string>();
  for (const match of (text ?? "").matchAll(CVE_PATTERN)) {
    if (Number(match[1]) < FIRST_CVE_YEAR) continue;
    ids.add(`CVE-${match[1]}-${match[2]}`);
  }
  return [...ids];
}

function familyTexts(
  family: MalwareFamily | undefined,
  mechanism: { description?: string } | undefined,
): Array<string | undefined> {
  return [family?.description, mechanism?.description];
}

function blockTexts(block: Block): Array<string | undefined> {
  return [
    block.roleDescription,
    ...familyTexts(block.malwareFamily, block.deliveryMechanism),
  ];
}

function executableTexts(executable: Executable): Array<string | undefined> {
  return [
    executable.executableSubtype?.description,
    ...familyTexts(executable.malwareFamily, executable.deliveryMechanism),
  ];
}

function threatTexts(threat: MalwareThreat): Array<string | undefined> {
  return [
    threat.label,
    threat.executiveSummary,
    ...threat.malwareFamilySet.map((family) => family.description),
    ...threat.deliveryMechanisms.map((mechanism) => mechanism.description),
    ...threat.extractedStringSet.map((entry) => entry.data),
  ];
}

/** A block or file: the family it names and the texts it carries. */
interface NamingItem {
  malwareRef?: string;
  texts: Array<string | undefined>;
}

/** Lists the blocks and files whose impact is not excluded. */
function includedItems(context: ThreatContext): NamingItem[] {
  const { threat, options } = context;
  const blocks = threat.blockSet
    .filter((block) => !isExcluded(block.impact, options.impactToExclude))
    .map((block) => ({
      malwareRef: familyMalwareId(block.malwareFamily),
      texts: blockTexts(block),
    }));
  const executables = threat.executableSet
    .filter((executable) =>
      !isExcluded(executable.severityLevel, options.impactToExclude)
    )
    .map((executable) => ({
      malwareRef: familyMalwareId(executable.malwareFamily),
      texts: executableTexts(executable),
    }));
  return [...blocks, ...executables];
}

function makeVulnerability(
  name: string,
  context: ObjectContext,
): Vulnerability {
  return {
    type: "vulnerability",
    spec_version: "2.1",
    id: vulnerabilityId(name),
    created: SHARED_OBJECT_TIME,
    modified: SHARED_OBJECT_TIME,
    name,
    created_by_ref: AUTHOR_ID,
    object_marking_refs: [context.markingId],
    external_references: [{
      source_name: "cve",
      external_id: name,
      url: `https://www.cve.org/CVERecord?id=${name}`,
    }],
  };
}

/**
 * Builds a Vulnerability for each CVE id the threat mentions, and the
 * `exploits` relationships from the malware of the blocks and files that
 * name both.
 */
export function mapVulnerabilities(
  context: ThreatContext,
): Array<Vulnerability | Relationship> {
  const items = includedItems(context);
  const names = new Set(
    [...threatTexts(context.threat), ...items.flatMap((item) => item.texts)]
      .flatMap(findCveIds),
  );

  const exploits = new Map<string, Relationship>();
  for (const { malwareRef, texts } of items) {
    if (malwareRef === undefined) continue;

    for (const name of texts.flatMap(findCveIds)) {
      const target = vulnerabilityId(name);
      const link = makeRelationship("exploits", malwareRef, target, context);
      exploits.set(link.id, link);
    }
  }

  const vulnerabilities = [...names].map((name) =>
    makeVulnerability(name, context)
  );
  return [...vulnerabilities, ...exploits.values()];
}
