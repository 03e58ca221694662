/**
 * Network observables from `blockSet`: URL, Domain Name, IPv4 Address and
 * Email blocks become url, domain-name, ipv4-addr and email-addr drafts,
 * with what the IP lookup of URL, Domain Name and IPv4 blocks adds.
 */
import { match } from "ts-pattern";
import { scoId } from "../stix/ids.ts";
import type { Block } from "../threathq/threat_schema.ts";
import { effectiveImpact, isExcluded } from "./impact.ts";
import {
  type IpDetailOutput,
  type IpSubject,
  mapIpDetail,
} from "./ip_detail.ts";
import { LabelSet } from "./labels.ts";
import { malwareRefsOf } from "./malware.ts";
import type { NetworkKind } from "./observable_draft.ts";
import {
  domainProblem,
  emailProblem,
  ipv4Problem,
  urlProblem,
} from "./observable_values.ts";
import { isPortalEmail, isPortalHost, isPortalUrl } from "./self_reference.ts";
import type { ThreatContext } from "./threat_context.ts";

/** ThreatHQ's `blockType` values, compared without regard to case. */
const BLOCK_KINDS: ReadonlyMap<string, NetworkKind> = new Map([
  ["url", "url"],
  ["domain name", "domain-name"],
  ["ipv4 address", "ipv4-addr"],
  ["email", "email-addr"],
]);

interface FoundValue {
  value: string;
  /** The field the value came from, relative to the block. */
  field: string;
}

function blockKind(blockType: string): NetworkKind | undefined {
  return BLOCK_KINDS.get(blockType.trim().toLowerCase());
}

/**
 * Lists the places a block's value can be, best first. URL blocks carry the
 * full URL in `data_1.url`. Every block also has the flat value in the
 * deprecated `data`, and some Domain blocks have only a `data_1` object.
 */
function valueCandidates(kind: NetworkKind, block: Block): FoundValue[] {
  const candidates: FoundValue[] = [];
  const data1 = block.data_1;

  if (typeof data1 === "string") {
    candidates.push({ value: data1, field: "data_1" });
  } else if (kind === "url" && data1?.url !== undefined) {
    candidates.push({ value: data1.url, field: "data_1.url" });
  }
  if (block.data !== undefined) {
    candidates.push({ value: block.data, field: "data" });
  }
  if (kind === "domain-name" && typeof data1 === "object") {
    if (data1.host !== undefined) {
      candidates.push({ value: data1.host, field: "data_1.host" });
    }
    if (data1.domain !== undefined) {
      candidates.push({ value: data1.domain, field: "data_1.domain" });
    }
  }
  return candidates;
}

/** Picks the first non-blank candidate, else the first one (blank). */
function blockValue(kind: NetworkKind, block: Block): FoundValue | undefined {
  const candidates = valueCandidates(kind, block);
  return candidates.find((found) => found.value.trim() !== "") ??
    candidates[0];
}

function valueProblem(kind: NetworkKind, value: string): string | undefined {
  return match(kind)
    .with("url", () => urlProblem(value))
    .with("domain-name", () => domainProblem(value))
    .with("ipv4-addr", () => ipv4Problem(value))
    .with("email-addr", () => emailProblem(value))
    .exhaustive();
}

/** Returns whether the value is one of ThreatHQ's or Cofense's own. */
function isPortalValue(kind: NetworkKind, value: string): boolean {
  return match(kind)
    .with("url", () => isPortalUrl(value))
    .with("domain-name", () => isPortalHost(value))
    .with("email-addr", () => isPortalEmail(value))
    .with("ipv4-addr", () => false)
    .exhaustive();
}

function blockLabels(block: Block): LabelSet {
  return new LabelSet([
    block.malwareFamily?.familyName,
    block.deliveryMechanism?.mechanismName,
    block.role,
  ]);
}

/** Returns the observable a block's `ipDetail` describes, if any. */
function ipSubject(
  kind: NetworkKind,
  id: string,
  value: string,
  block: Block,
): IpSubject | undefined {
  return match(kind)
    .with("ipv4-addr", () => ({ kind: "ipv4-addr" as const, id, value }))
    .with("domain-name", () => ({ kind: "domain-name" as const, id }))
    .with("url", () => {
      const host = typeof block.data_1 === "object"
        ? block.data_1.host
        : undefined;
      return { kind: "url" as const, id, value, host };
    })
    .with("email-addr", () => undefined)
    .exhaustive();
}

/** Maps one block into `output`, or records why it was skipped. */
function mapBlock(
  block: Block,
  path: string,
  context: ThreatContext,
  output: IpDetailOutput,
): void {
  const { problems, options } = context;
  if (block.blockType === undefined) {
    problems.add(`${path}.blockType`, undefined, "missing block type; skipped");
    return;
  }
  const kind = blockKind(block.blockType);
  if (kind === undefined) {
    problems.add(
      `${path}.blockType`,
      block.blockType,
      "unknown block type, expected URL, Domain Name, IPv4 Address or Email; skipped",
    );
    return;
  }

  if (isExcluded(block.impact, options.impactToExclude)) return;
  const impact = effectiveImpact(block.impact);

  const labels = blockLabels(block);
  context.reportLabels.addAll(labels.toArray());

  const found = blockValue(kind, block);
  if (found === undefined) {
    problems.add(path, undefined, "no value in data_1 or data; skipped");
    return;
  }
  const value = found.value.trim();
  // Checked first so that a portal link without a scheme is dropped quietly
  // like the others instead of being reported as an invalid URL.
  if (isPortalValue(kind, value)) return;

  const problem = valueProblem(kind, value);
  if (problem !== undefined) {
    problems.add(`${path}.${found.field}`, found.value, `${problem}; skipped`);
    return;
  }

  const id = scoId(kind, { value });
  output.drafts.add({
    kind,
    id,
    value,
    impact,
    labels,
    description: block.roleDescription?.trim() || undefined,
    malwareRefs: malwareRefsOf(block.malwareFamily, context.families),
  });

  const subject = ipSubject(kind, id, value, block);
  if (block.ipDetail !== undefined && subject !== undefined) {
    mapIpDetail(block.ipDetail, `${path}.ipDetail`, subject, context, output);
  }
}

/** Maps every block of the threat into `output`. */
export function mapBlocks(
  context: ThreatContext,
  output: IpDetailOutput,
): void {
  for (const block of context.threat.blockSet) {
    mapBlock(block, `blockSet[${block.position}]`, context, output);
  }
}
