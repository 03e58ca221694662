/**
 * Generates realistic ThreatHQ threats and changelogs at any count, from a
 * seed, so a run is repeatable. Malware threats vary their block types,
 * impacts (the string "None" included), families, delivery mechanisms,
 * files, subjects (some non-ASCII), NAICS labels, languages and report
 * flags. Phish threats follow the Brand Intelligence shape, with brands,
 * URLs in both forms, kits with files and drop addresses, an IP lookup, a
 * page language and, on most, a screenshot. The changelog
 * contains repeated updates of a threat and deletions, as ThreatHQ's does.
 *
 * Hosts, addresses and hashes are made up; nothing here is meant to be
 * contacted.
 */

export type Random = () => number;

/** A seeded generator of numbers in [0, 1) (mulberry32). */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

function pickSome<T>(random: Random, items: readonly T[], max: number): T[] {
  const count = Math.floor(random() * (max + 1));
  const chosen = new Set<T>();
  for (let i = 0; i < count; i++) chosen.add(pick(random, items));
  return [...chosen];
}

function integer(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

function hex(random: Random, length: number): string {
  let text = "";
  for (let i = 0; i < length; i++) {
    text += Math.floor(random() * 16).toString(16);
  }
  return text;
}

const FAMILIES = [
  ["FormBook", "FormBook is a browser focused keylogger coded in ASM/C."],
  ["Agent Tesla", "Agent Tesla is a keylogger and information stealer."],
  [
    "Remcos",
    "Remcos is a remote access trojan sold as remote control software.",
  ],
  ["QakBot", "QakBot is a banking trojan that also delivers ransomware."],
  ["Emotet", "Emotet is a modular loader spread by malspam."],
  ["IcedID", "IcedID is a banking trojan and loader."],
  ["AsyncRAT", "AsyncRAT is an open-source remote access trojan."],
  ["Loki Bot", "Loki Bot steals credentials from browsers and mail clients."],
  ["DarkGate", "DarkGate is a loader with remote access features."],
  ["Snake Keylogger", "Snake Keylogger records keystrokes and clipboard data."],
  ["RedLine Stealer", "RedLine Stealer collects browser data and wallets."],
  ["Pikabot", "Pikabot is a loader that follows QakBot's delivery chains."],
] as const;

const MECHANISMS = [
  ["OfficeMacro", "Office documents that run a macro to fetch a payload."],
  ["JSDropper", "JavaScript files that drop or download a payload."],
  ["CVE-2017-11882", "Equation Editor exploit in Office documents."],
  ["GuLoader", "Shellcode loader that downloads an encrypted payload."],
  ["HTML Smuggling", "HTML attachments that assemble a file in the browser."],
  ["LNK Downloader", "Shortcut files that run a downloader command."],
  ["ISO Image", "Disk image attachments that hide an executable."],
] as const;

const THEMES = [
  "Finance",
  "Invoice",
  "Shipping",
  "Purchase Order",
  "Quotation",
  "Tax",
  "Payroll",
  "Banking",
  "Legal",
  "Healthcare",
  "Response",
  "Notification",
] as const;

const ROLES = [
  ["C2", "Command and control location used by malware"],
  ["Payload", "Location from which a payload is obtained"],
  ["InfURL", "URL provided in email as means for infection"],
  ["PaySite", "Location where stolen data is sent"],
  ["IDinfo", "Location used by malware to identify the victim's address"],
] as const;

const IMPACT_WEIGHTS = [
  ["Major", 0.55],
  ["Moderate", 0.2],
  ["Minor", 0.15],
  ["None", 0.1],
] as const;

const SUBJECTS = [
  "New Order List (PO.NO_#{n})",
  "RE: Invoice #{n} overdue",
  "Shipment notification AWB {n}",
  "Payment confirmation {n}",
  "Request for quotation RFQ-{n}",
  "Zahlungsbestätigung Nr. {n}",
  "Nueva orden de compra №{n}",
  "請求書のご確認 {n}",
  "Fattura elettronica n. {n}",
  "Your mailbox is almost full",
] as const;

const NAICS_LABELS = [
  "Manufacturing",
  "Finance and Insurance",
  "Mining (except Oil and Gas)",
  "Health Care and Social Assistance",
  "Professional, Scientific, and Technical Services",
  "Transportation and Warehousing",
  "Retail Trade",
  "Educational Services",
] as const;

const SEG_NAMES = [
  "Proofpoint",
  "Microsoft ATP",
  "Mimecast",
  "Cisco IronPort",
] as const;

const BRANDS = [
  [2051, "None"],
  [31, "Microsoft"],
  [112, "DHL"],
  [415, "DocuSign"],
  [87, "Adobe"],
] as const;

const LANGUAGES = [
  ["en", "English", "English", "Indo-European"],
  ["es", "Spanish", "español", "Indo-European"],
  ["de", "German", "Deutsch", "Indo-European"],
  ["ja", "Japanese", "日本語", "Japonic"],
  ["it", "Italian", "italiano", "Indo-European"],
] as const;

const COUNTRIES = [
  ["US", "United States", "NA", "North America"],
  ["DE", "Germany", "EU", "Europe"],
  ["NL", "Netherlands", "EU", "Europe"],
  ["RU", "Russia", "EU", "Europe"],
  ["BR", "Brazil", "SA", "South America"],
  ["SG", "Singapore", "AS", "Asia"],
] as const;

const FILE_KINDS = [
  ["exe", "Drop"],
  ["docm", "Attachment"],
  ["xlsm", "Attachment"],
  ["js", "Attachment"],
  ["vbs", "Download"],
  ["zip", "Attachment"],
  ["iso", "Attachment"],
  ["lnk", "Download"],
  ["hta", "Download"],
  ["dll", "Drop"],
] as const;

const SYLLABLES = [
  "nor",
  "vex",
  "tal",
  "qui",
  "mar",
  "len",
  "dro",
  "sa",
  "ki",
  "po",
  "zen",
  "lux",
] as const;
const TLDS = ["com", "net", "top", "xyz", "info", "ru", "online"] as const;

function word(random: Random): string {
  let text = "";
  const count = integer(random, 2, 4);
  for (let i = 0; i < count; i++) text += pick(random, SYLLABLES);
  return text;
}

function domain(random: Random): string {
  return `${word(random)}-${word(random)}.${pick(random, TLDS)}`;
}

function ipv4(random: Random): string {
  // First octets of public unicast space only (no 10, 127, 172, 192).
  const first = pick(random, [23, 45, 62, 91, 103, 141, 185, 193, 212]);
  return `${first}.${integer(random, 0, 255)}.${integer(random, 0, 255)}.${
    integer(random, 1, 254)
  }`;
}

function impact(random: Random): string {
  let roll = random();
  for (const [name, weight] of IMPACT_WEIGHTS) {
    if (roll < weight) return name;
    roll -= weight;
  }
  return "Major";
}

function family(random: Random) {
  const [familyName, description] = pick(random, FAMILIES);
  return { familyName, description };
}

function mechanism(random: Random) {
  const [mechanismName, description] = pick(random, MECHANISMS);
  return { mechanismName, description };
}

function ipDetail(random: Random, ip: string, lookupOn: number) {
  const [countryIsoCode, countryName, continentCode, continentName] = pick(
    random,
    COUNTRIES,
  );
  return {
    ip,
    lookupOn,
    latitude: Math.round((random() * 140 - 70) * 1e4) / 1e4,
    longitude: Math.round((random() * 340 - 170) * 1e4) / 1e4,
    continentCode,
    continentName,
    countryIsoCode,
    countryName,
    asn: integer(random, 1000, 65000),
    asnOrganization: `${word(random)} Hosting`,
    isp: `${word(random)} Networks`,
    organization: `${word(random)} Networks`,
  };
}

function block(random: Random, publishedMs: number) {
  const [role, roleDescription] = pick(random, ROLES);
  const common: Record<string, unknown> = {
    impact: impact(random),
    confidence: pick(random, [0, 85, 100]),
    role,
    roleDescription,
  };
  if (random() < 0.7) common.malwareFamily = family(random);
  else common.deliveryMechanism = mechanism(random);

  const kind = random();
  if (kind < 0.4) {
    const host = `${word(random)}.${domain(random)}`;
    const path = `/${word(random)}/${word(random)}.php`;
    const url = `http://${host}${path}`;
    const data1: Record<string, unknown> = {
      url,
      host,
      domain: host.split(".").slice(-2).join("."),
      path,
      protocol: "http",
    };
    if (random() < 0.3) data1.query = `id=${integer(random, 1, 9999)}`;
    return { ...common, blockType: "URL", data: url, data_1: data1 };
  }
  if (kind < 0.7) {
    const name = domain(random);
    return { ...common, blockType: "Domain Name", data: name, data_1: name };
  }
  if (kind < 0.9) {
    const ip = ipv4(random);
    return {
      ...common,
      blockType: "IPv4 Address",
      data: ip,
      data_1: ip,
      ipDetail: ipDetail(random, ip, publishedMs),
    };
  }
  const email = `${word(random)}@${domain(random)}`;
  return { ...common, blockType: "Email", data: email, data_1: email };
}

function executable(random: Random, publishedMs: number) {
  const [extension, type] = pick(random, FILE_KINDS);
  const file: Record<string, unknown> = {
    fileName: `${word(random)}_${integer(random, 100, 9999)}.${extension}`,
    fileNameExtension: extension,
    type,
    md5Hex: hex(random, 32),
    sha1Hex: hex(random, 40),
    sha256Hex: hex(random, 64),
    dateEntered: publishedMs,
    malwareFamily: family(random),
    vendorDetections: [
      { detected: random() < 0.8, threatVendorName: "Vendor A" },
      { detected: random() < 0.5, threatVendorName: "Vendor B" },
    ],
  };
  if (random() < 0.8) file.severityLevel = impact(random);
  if (random() < 0.5) file.sha512Hex = hex(random, 128);
  if (random() < 0.3) file.sha224Hex = hex(random, 56);
  if (random() < 0.6) {
    file.ssdeep = `3072:${hex(random, 24)}:${hex(random, 16)}`;
  }
  if (random() < 0.3) file.deliveryMechanism = mechanism(random);
  return file;
}

function subject(random: Random) {
  const text = pick(random, SUBJECTS).replace(
    "{n}",
    String(integer(random, 1000, 999999)),
  );
  return { subject: text, totalCount: integer(random, 1, 40) };
}

/** A malware threat as `threat/malware/{id}` returns it in `data`. */
export function generateMalwareThreat(
  random: Random,
  id: number,
  publishedMs: number,
): Record<string, unknown> {
  const families = pickSome(random, FAMILIES, 2).map(([familyName, d]) => ({
    familyName,
    description: d,
  }));
  const credentialPhishing = families.length === 0 || random() < 0.1;
  const label = `${pick(random, THEMES)} - ${
    credentialPhishing ? "Credential Phishing" : families[0].familyName
  }`;
  const [brandId, brandText] = pick(random, BRANDS);
  const [isoCode, name, nativeName, languageFamily] = pick(random, LANGUAGES);
  const firstPublished = publishedMs - integer(random, 0, 6 * 3600_000);

  return {
    id,
    threatType: "MALWARE",
    label,
    executiveSummary: `${label} campaign observed delivering ${
      families[0]?.familyName ?? "a credential phishing page"
    }.`,
    firstPublished,
    lastPublished: publishedMs,
    hasReport: random() < 0.85,
    reportURL: `https://www.threathq.com/api/l/activethreatreport/${id}/html`,
    apiReportURL: `https://www.threathq.com/apiv1/t3/malware/${id}/html`,
    threatDetailURL: `https://www.threathq.com/p42/search/default?m=${id}`,
    feeds: [{
      id: 23,
      displayName: "Cofense",
      permissions: { OWNER: false, WRITE: false, READ: true },
    }],
    blockSet: Array.from(
      { length: integer(random, 0, 8) },
      () => block(random, publishedMs),
    ),
    executableSet: Array.from(
      { length: integer(random, 0, 4) },
      () => executable(random, publishedMs),
    ),
    subjectSet: Array.from(
      { length: integer(random, 1, 3) },
      () => subject(random),
    ),
    senderIpSet: random() < 0.5
      ? [{ ip: ipv4(random), totalCount: integer(random, 1, 9) }]
      : [],
    senderEmailSet: random() < 0.5
      ? [{ senderEmail: `${word(random)}@${domain(random)}`, totalCount: 1 }]
      : [],
    senderNameSet: random() < 0.4
      ? [{ name: `${word(random)} Accounts`, totalCount: 2 }]
      : [],
    domainSet: random() < 0.4
      ? [{ domain: domain(random), totalCount: integer(random, 1, 20) }]
      : [],
    spamUrlSet: [],
    extractedStringSet: random() < 0.3
      ? [{ data: `Host: "${domain(random)}"\r\n\tport=443` }]
      : [],
    campaignBrandSet: [{
      brand: { id: brandId, text: brandText },
      totalCount: 1,
    }],
    malwareFamilySet: families,
    campaignLanguageSet: [{
      languageDefinition: { isoCode, name, nativeName, family: languageFamily },
    }],
    deliveryMechanisms: pickSome(random, MECHANISMS, 2).map(
      ([mechanismName, description]) => ({ mechanismName, description }),
    ),
    naicsCodes: pickSome(random, NAICS_LABELS, 3).map((text) => ({
      label: text,
    })),
    secureEmailGatewaySet: pickSome(random, SEG_NAMES, 2).map((segName) => ({
      segName,
    })),
    campaignScreenshotSet: [],
    relatedSearchTags: [],
  };
}

/** Splits a URL into the URL-parts object of ThreatHQ's `*_1` fields. */
function urlParts(url: string): Record<string, unknown> {
  const parsed = new URL(url);
  const parts: Record<string, unknown> = {
    url,
    host: parsed.hostname,
    domain: parsed.hostname.split(".").slice(-2).join("."),
    path: parsed.pathname,
    protocol: parsed.protocol.replace(":", ""),
  };
  if (parsed.search !== "") parts.query = parsed.search.slice(1);
  return parts;
}

const OBFUSCATIONS = ["none", "base64", "rot13", "concatenation"] as const;

const KIT_FILES = [
  ["post.php", "php"],
  ["index.html", "html"],
  ["mailer.php", "php"],
  ["jquery.min.js", "js"],
  ["config.ini", "ini"],
] as const;

function kitHashes(random: Random): Record<string, string> {
  return {
    md5: hex(random, 32),
    sha1: hex(random, 40),
    sha224: hex(random, 56),
    sha256: hex(random, 64),
    sha384: hex(random, 96),
    sha512: hex(random, 128),
    ssdeep: `96:${hex(random, 12)}:${hex(random, 8)}`,
  };
}

/** Generates a phishing kit with files, some of which contain drop addresses. */
function kit(random: Random): Record<string, unknown> {
  const kitName = `${word(random)}-kit.zip`;
  const folder = kitName.replace(/\.zip$/, "");
  const files = pickSome(random, KIT_FILES, 4).map(([fileName]) => {
    const emails = fileName.endsWith(".php") || fileName.endsWith(".ini")
      ? Array.from({ length: integer(random, 1, 2) }, () => ({
        email: `${word(random)}@${domain(random)}`,
        obfuscationType: pick(random, OBFUSCATIONS),
      }))
      : [];
    return {
      fileName,
      size: integer(random, 200, 90_000),
      path: `${folder}/${fileName}`,
      ...kitHashes(random),
      emails,
    };
  });

  const result: Record<string, unknown> = {
    kitName,
    fileSize: integer(random, 5_000, 900_000),
    ...kitHashes(random),
    files,
  };
  // The REST reference lists drop addresses under `observedEmails` and the
  // Python SDK under `files[].emails`, so some kits get both.
  const emails = files.flatMap((file) => file.emails);
  if (emails.length > 0 && random() < 0.5) {
    result.observedEmails = emails.map(({ email }) => ({ email }));
  }
  return result;
}

/**
 * Generates the screenshot field: usually both forms, sometimes only the
 * deprecated string, sometimes none (undefined).
 */
function screenshot(random: Random, id: number) {
  const url = `https://www.threathq.com/apiv1/screenshot/${id}`;
  const roll = random();
  if (roll < 0.8) return { url, url_1: urlParts(url) };
  if (roll < 0.9) return { url };
  return undefined;
}

/** A phish (Brand Intelligence) threat as `threat/phish/{id}` returns it. */
export function generatePhishThreat(
  random: Random,
  id: number,
  publishedMs: number,
): Record<string, unknown> {
  const host = `${word(random)}.${domain(random)}`;
  const url = `https://${host}/login/${word(random)}.php?session=${
    integer(random, 1, 9999)
  }`;
  const reported = [`http://${domain(random)}/${word(random)}`, url];
  const actions = Array.from(
    { length: integer(random, 0, 2) },
    () => `https://${host}/${word(random)}/next.php`,
  );
  const brands = pickSome(random, BRANDS.slice(1), 2);
  if (brands.length === 0) brands.push(pick(random, BRANDS.slice(1)));
  const brandText = brands[0][1];
  const [isoCode, name, nativeName, languageFamily] = pick(random, LANGUAGES);
  const firstDate = publishedMs - integer(random, 0, 3600_000);

  const threat: Record<string, unknown> = {
    id,
    threatType: "PHISH",
    title: `${brandText} - Sign in`,
    threatDetailURL: `https://www.threathq.com/p42/search/default?p=${id}`,
    brands: brands.map(([brand, text]) => ({ id: brand, text })),
    confirmedDate: publishedMs,
    firstDate,
    lastDate: publishedMs + integer(random, 0, 3600_000),
    feeds: [{
      id: 23,
      displayName: "Cofense",
      permissions: { OWNER: false, WRITE: false, READ: true },
    }],
    processingState: "ANALYZED",
    isConfirmedPhishingWebsite: random() < 0.9 ? "YES" : "NO",
    phishingURL: url,
    phishingURL_1: urlParts(url),
    reportedURLs: reported,
    reportedURLs_1: reported.map(urlParts),
    actionURLs: actions,
    actionURLs_1: actions.map(urlParts),
    ipDetail: ipDetail(random, ipv4(random), firstDate),
    language: {
      languageDefinition: {
        family: languageFamily,
        isoCode,
        name,
        nativeName,
      },
      probability: Math.round((0.6 + random() * 0.4) * 100) / 100,
    },
    kits: Array.from({ length: integer(random, 0, 2) }, () => kit(random)),
    webComponents: Array.from({ length: integer(random, 0, 2) }, () => ({
      md5: hex(random, 32),
      resourceURL: urlParts(`https://${domain(random)}/static/logo.png`),
    })),
  };
  const shot = screenshot(random, id);
  if (shot !== undefined) threat.screenshot = shot;
  return threat;
}

/** One changelog event, as the simulator serves it. */
export interface ChangelogEvent {
  threatType: "malware" | "phish";
  threatId: number;
  occurredOn: number;
  deleted: boolean;
}

export interface GeneratedData {
  /** Threat details; deleted threats are left out. */
  threats: Array<Record<string, unknown>>;
  /** Events in time order, with updates and deletions mixed in. */
  changelog: ChangelogEvent[];
}

export interface GenerateOptions {
  seed?: number;
  malware: number;
  phish?: number;
  firstId?: number;
  /** Time of the first event, in epoch milliseconds. */
  startMs: number;
  /** Milliseconds between two events. */
  stepMs?: number;
  /** Share of threats updated a second time (a duplicate entry). */
  duplicateShare?: number;
  /** Share of extra threats that are published and then deleted. */
  deletionShare?: number;
  /** Overrides the generated `hasReport` of every malware threat. */
  hasReport?: boolean;
}

/**
 * Generates threats and their changelog. Every kept threat has one event,
 * a share have a second (later) event, and deleted threats have an event
 * followed by a `deleted: true` event.
 */
export function generateThreatData(options: GenerateOptions): GeneratedData {
  const random = createRandom(options.seed ?? 1);
  const stepMs = options.stepMs ?? 1000;
  const firstId = options.firstId ?? 300_000;
  const threats: Array<Record<string, unknown>> = [];
  const changelog: ChangelogEvent[] = [];
  let time = options.startMs;

  const add = (threatType: "malware" | "phish", index: number) => {
    const threatId = firstId + index;
    const threat = threatType === "malware"
      ? generateMalwareThreat(random, threatId, time)
      : generatePhishThreat(random, threatId, time);
    if (threatType === "malware" && options.hasReport !== undefined) {
      threat.hasReport = options.hasReport;
    }
    threats.push(threat);
    changelog.push({ threatType, threatId, occurredOn: time, deleted: false });
    time += stepMs;
  };

  const phish = options.phish ?? 0;
  for (let i = 0; i < options.malware + phish; i++) {
    add(i < options.malware ? "malware" : "phish", i);
  }

  const duplicates = Math.round(
    threats.length * (options.duplicateShare ?? 0),
  );
  for (let i = 0; i < duplicates; i++) {
    const threat = threats[Math.floor(random() * threats.length)];
    const threatType = threat.threatType === "PHISH" ? "phish" : "malware";
    threat.lastPublished = time;
    changelog.push({
      threatType,
      threatId: threat.id as number,
      occurredOn: time,
      deleted: false,
    });
    time += stepMs;
  }

  const deletions = Math.round(
    options.malware * (options.deletionShare ?? 0),
  );
  const deletedFirstId = firstId + options.malware + phish;
  for (let i = 0; i < deletions; i++) {
    const threatId = deletedFirstId + i;
    const occurredOn = time;
    changelog.push({
      threatType: "malware",
      threatId,
      occurredOn,
      deleted: false,
    });
    changelog.push({
      threatType: "malware",
      threatId,
      occurredOn: occurredOn + 1,
      deleted: true,
    });
    time += stepMs;
  }

  return { threats, changelog };
}

/** Builds a PDF-looking body of exactly `size` bytes (at least 64). */
export function generatePdf(threatId: number, size: number): Uint8Array {
  const head = new TextEncoder().encode(
    `%PDF-1.4\n%\u00e2\u00e3\n% ThreatHQ report ${threatId}\n`,
  );
  const tail = new TextEncoder().encode("\n%%EOF\n");
  const total = Math.max(size, head.length + tail.length);
  const body = new Uint8Array(total);
  body.set(head, 0);
  body.fill(0x20, head.length, total - tail.length);
  body.set(tail, total - tail.length);
  return body;
}

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 as PNG chunks use it (ISO 3309). */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const chunk = new Uint8Array(12 + data.byteLength);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, data.byteLength);
  chunk.set(new TextEncoder().encode(type), 4);
  chunk.set(data, 8);
  view.setUint32(
    8 + data.byteLength,
    crc32(chunk.subarray(4, 8 + data.byteLength)),
  );
  return chunk;
}

/** The smallest body `generatePng` builds, in bytes. */
export const MIN_PNG_BYTES = 92;

/**
 * Builds a valid PNG of exactly `size` bytes (at least `MIN_PNG_BYTES`):
 * one RGB pixel whose colour comes from the threat id, padded with a
 * `tEXt` comment chunk.
 */
export function generatePng(
  threatId: number,
  size: number,
): Uint8Array<ArrayBuffer> {
  const header = new Uint8Array(13);
  const headerView = new DataView(header.buffer);
  headerView.setUint32(0, 1);
  headerView.setUint32(4, 1);
  header.set([8, 2, 0, 0, 0], 8);

  // One scanline: filter type 0, then red, green, blue. zlib stream with
  // one stored deflate block and the Adler-32 of the scanline.
  const scanline = [0, threatId & 0xff, (threatId >> 8) & 0xff, 0x80];
  let a = 1;
  let b = 0;
  for (const byte of scanline) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  const adler = ((b << 16) | a) >>> 0;
  const pixels = new Uint8Array([
    0x78,
    0x01,
    0x01,
    0x04,
    0x00,
    0xfb,
    0xff,
    ...scanline,
    adler >>> 24,
    (adler >>> 16) & 0xff,
    (adler >>> 8) & 0xff,
    adler & 0xff,
  ]);

  const keyword = new TextEncoder().encode("Comment\0");
  const textBytes = Math.max(0, size - MIN_PNG_BYTES);
  const text = new Uint8Array(keyword.byteLength + textBytes).fill(0x20);
  text.set(keyword, 0);

  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", header),
    pngChunk("tEXt", text),
    pngChunk("IDAT", pixels),
    pngChunk("IEND", new Uint8Array(0)),
  ];
  const png = new Uint8Array(
    parts.reduce((sum, part) => sum + part.byteLength, 0),
  );
  let offset = 0;
  for (const part of parts) {
    png.set(part, offset);
    offset += part.byteLength;
  }
  return png;
}
