/**
 * Observables of a phish threat: the phishing, reported and action URLs,
 * the kit archives and kit files with valid hashes, and the email addresses
 * found in the kits, usually where they send stolen credentials.
 *
 * Phish threats carry no impact, so their URLs, kit archives and addresses
 * count as Major (score 100), the default for blocks without one. Kit files
 * get no score and never become indicators, because a kit can also contain
 * common libraries and images whose hashes are not specific to the kit.
 */
import { scoId } from "../stix/ids.ts";
import type {
  Kit,
  KitEmail,
  ListedUrl,
  PhishThreat,
} from "../threathq/phish_schema.ts";
import type { Positioned, UrlParts } from "../threathq/threat_schema.ts";
import { checkedHashes, type HashField } from "./file_hashes.ts";
import type { IpSubject } from "./ip_detail.ts";
import { LabelSet } from "./labels.ts";
import type { DraftCollection } from "./observable_draft.ts";
import { emailProblem, urlProblem } from "./observable_values.ts";
import { isPortalEmail, isPortalUrl } from "./self_reference.ts";
import type { ObjectContext } from "./threat_context.ts";

/** The context of a phish threat. */
export interface PhishContext extends ObjectContext {
  threat: PhishThreat;
}

const PHISHING_URL_DESCRIPTION = "Location of the phishing page";

const REPORTED_URL_DESCRIPTION =
  "URL reported to Cofense that leads to the phishing page";

const ACTION_URL_DESCRIPTION =
  "URL the phishing page sends the victim's input to";

const KIT_DESCRIPTION = "Phishing kit archive found with the phishing page";

const KIT_EMAIL_DESCRIPTION =
  "Email address found in a phishing kit, usually where it sends stolen credentials";

interface FoundUrl {
  value: string;
  /** Path of the value in the threat, such as `reportedURLs_1[0].url`. */
  field: string;
  parts?: UrlParts;
}

/** Returns the phishing URL: `phishingURL_1.url`, else `phishingURL`. */
export function phishingUrl(threat: PhishThreat): FoundUrl | undefined {
  const parts = threat.phishingURL_1;
  if (parts?.url !== undefined && parts.url.trim() !== "") {
    return { value: parts.url, field: "phishingURL_1.url", parts };
  }
  if (threat.phishingURL !== undefined) {
    return { value: threat.phishingURL, field: "phishingURL" };
  }
  return undefined;
}

/**
 * Lists the URLs of a list: those of the URL-parts list, else, when it has
 * none, those of the deprecated string list. A URL-parts entry without
 * `url` is skipped with a problem.
 */
function listedUrls(
  current: readonly Positioned<UrlParts>[],
  currentKey: string,
  deprecated: readonly Positioned<ListedUrl>[],
  deprecatedKey: string,
  context: PhishContext,
): FoundUrl[] {
  const found: FoundUrl[] = [];
  for (const entry of current) {
    const field = `${currentKey}[${entry.position}]`;
    const { position: _position, ...parts } = entry;
    if (parts.url === undefined || parts.url.trim() === "") {
      context.problems.add(field, parts, "no url in the URL parts; skipped");
      continue;
    }
    found.push({ value: parts.url, field: `${field}.url`, parts });
  }
  if (found.length > 0) return found;

  return deprecated.map((entry) => ({
    value: entry.url,
    field: `${deprecatedKey}[${entry.position}]`,
  }));
}

/** Adds a URL with score 100, or records why it was skipped. */
function addUrl(
  found: FoundUrl,
  description: string,
  context: PhishContext,
  drafts: DraftCollection,
): string | undefined {
  const value = found.value.trim();
  if (isPortalUrl(value)) return undefined;

  const problem = urlProblem(value);
  if (problem !== undefined) {
    context.problems.add(found.field, found.value, `${problem}; skipped`);
    return undefined;
  }

  const id = scoId("url", { value });
  drafts.add({
    kind: "url",
    id,
    value,
    impact: "Major",
    labels: new LabelSet(),
    description,
    malwareRefs: new Set(),
  });
  return id;
}

/**
 * Maps the phishing, reported and action URLs into `drafts`. Returns the
 * phishing URL as the subject of the threat's IP lookup, when it is valid.
 */
export function mapPhishUrls(
  context: PhishContext,
  drafts: DraftCollection,
): IpSubject | undefined {
  const { threat } = context;
  const phishing = phishingUrl(threat);
  if (phishing === undefined && threat.phishingURL_1 !== undefined) {
    context.problems.add(
      "phishingURL_1",
      threat.phishingURL_1,
      "no url in phishingURL_1 or phishingURL; the phishing URL is skipped",
    );
  }
  const phishingId = phishing === undefined
    ? undefined
    : addUrl(phishing, PHISHING_URL_DESCRIPTION, context, drafts);

  const reported = listedUrls(
    threat.reportedURLs_1,
    "reportedURLs_1",
    threat.reportedURLs,
    "reportedURLs",
    context,
  );
  for (const found of reported) {
    addUrl(found, REPORTED_URL_DESCRIPTION, context, drafts);
  }

  const actions = listedUrls(
    threat.actionURLs_1,
    "actionURLs_1",
    threat.actionURLs,
    "actionURLs",
    context,
  );
  for (const found of actions) {
    addUrl(found, ACTION_URL_DESCRIPTION, context, drafts);
  }

  if (phishing === undefined || phishingId === undefined) return undefined;
  return {
    kind: "url",
    id: phishingId,
    value: phishing.value.trim(),
    host: phishing.parts?.host,
  };
}

/** Lists the hash fields of a kit archive or kit file, with algorithms. */
function kitHashFields(
  item: Pick<Kit, "md5" | "sha1" | "sha256" | "sha512">,
): HashField[] {
  return [
    { field: "md5", algorithm: "MD5", value: item.md5 },
    { field: "sha1", algorithm: "SHA-1", value: item.sha1 },
    { field: "sha256", algorithm: "SHA-256", value: item.sha256 },
    { field: "sha512", algorithm: "SHA-512", value: item.sha512 },
  ];
}

/** Adds a kit email address with score 100, or records why it was skipped. */
function addKitEmail(
  entry: Positioned<KitEmail>,
  path: string,
  context: PhishContext,
  drafts: DraftCollection,
): void {
  const value = entry.email.trim();
  if (isPortalEmail(value)) return;

  const field = `${path}[${entry.position}].email`;
  const problem = emailProblem(value);
  if (problem !== undefined) {
    context.problems.add(field, entry.email, `${problem}; skipped`);
    return;
  }

  drafts.add({
    kind: "email-addr",
    id: scoId("email-addr", { value }),
    value,
    impact: "Major",
    labels: new LabelSet(),
    description: KIT_EMAIL_DESCRIPTION,
    malwareRefs: new Set(),
  });
}

function mapKitArchive(
  kit: Positioned<Kit>,
  path: string,
  context: PhishContext,
  drafts: DraftCollection,
): void {
  const hashes = checkedHashes(kitHashFields(kit), path, context.problems);
  if (hashes === undefined) {
    context.problems.add(
      path,
      kit.kitName,
      "kit has no valid MD5, SHA-1, SHA-256 or SHA-512 hash; the archive is skipped, its files and addresses are kept",
    );
    return;
  }

  const name = kit.kitName?.trim() || undefined;
  drafts.add({
    kind: "file",
    id: scoId("file", { hashes, name }),
    name,
    hashes,
    impact: "Major",
    labels: new LabelSet(),
    description: KIT_DESCRIPTION,
    malwareRefs: new Set(),
  });
}

function mapKitFiles(
  kit: Positioned<Kit>,
  path: string,
  context: PhishContext,
  drafts: DraftCollection,
): void {
  const kitName = kit.kitName?.trim() || "unnamed";
  for (const file of kit.files) {
    const filePath = `${path}.files[${file.position}]`;
    for (const email of file.emails) {
      addKitEmail(email, `${filePath}.emails`, context, drafts);
    }

    const hashes = checkedHashes(
      kitHashFields(file),
      filePath,
      context.problems,
    );
    if (hashes === undefined) {
      context.problems.add(
        filePath,
        file.fileName,
        "kit file has no valid MD5, SHA-1, SHA-256 or SHA-512 hash; skipped",
      );
      continue;
    }

    const name = file.fileName?.trim() || undefined;
    const location = file.path?.trim() || name || "";
    drafts.add({
      kind: "file",
      id: scoId("file", { hashes, name }),
      name,
      hashes,
      impact: undefined,
      labels: new LabelSet(),
      description: `File in the phishing kit ${kitName}: ${location}`,
      malwareRefs: new Set(),
    });
  }
}

/** Maps every kit, its files and its email addresses into `drafts`. */
export function mapKits(context: PhishContext, drafts: DraftCollection): void {
  for (const kit of context.threat.kits) {
    const path = `kits[${kit.position}]`;
    mapKitArchive(kit, path, context, drafts);
    mapKitFiles(kit, path, context, drafts);
    for (const email of kit.observedEmails) {
      addKitEmail(email, `${path}.observedEmails`, context, drafts);
    }
  }
}
