import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  loadFixtureThreats,
  loadSharedSampleThreats,
} from "../support/threathq_fixtures.ts";
import { startThreatHqSimulator } from "../support/threathq_simulator.ts";
import {
  crc32,
  generatePng,
  generateThreatData,
  MIN_PNG_BYTES,
} from "../support/threat_generator.ts";
import { createTestClient, rejectionOf } from "../support/threathq_harness.ts";
import {
  ThreatHqAuthError,
  ThreatHqServerError,
} from "../../src/threathq/errors.ts";
import { parsePhishThreat } from "../../src/threathq/phish_schema.ts";

const t = suite("threathq: simulator");

const START_MS = Date.UTC(2025, 0, 1);

async function post(url: string, user: string, password: string) {
  const auth = new TextEncoder().encode(`${user}:${password}`).toBase64();
  const response = await fetch(url, {
    method: "POST",
    headers: { authorization: `Basic ${auth}` },
  });
  return { status: response.status, body: await response.json() };
}

t("serves fixture threats", async () => {
  const fixtures = await loadFixtureThreats();
  const simulator = startThreatHqSimulator({ threats: fixtures });
  try {
    const { api } = createTestClient(simulator);
    const page = await api.updates({ timestamp: 0 });
    const accepted = fixtures.length - simulator.rejectedThreats;
    assert.is(page.entries.length, accepted);
    for (const entry of page.entries) {
      const detail = await api.malware(entry.threatId) as { id: number };
      assert.is(detail.id, entry.threatId);
    }
  } finally {
    await simulator.close();
  }
});

const samples = await loadSharedSampleThreats();

if (samples === undefined) {
  console.log("skipped: ../shared not found (shared ThreatHQ samples)");
  t.skip("serves the shared samples", () => {});
} else {
  t("serves the shared samples", async () => {
    const simulator = startThreatHqSimulator({ threats: samples });
    try {
      const { api } = createTestClient(simulator);
      const result = await api.search([{
        threatType: "malware",
        threatId: 261737,
      }]);
      assert.is(result.threats.length, 1);
      const threat = result.threats[0] as { label: string };
      assert.is(threat.label, "Finance - FormBook");
    } finally {
      await simulator.close();
    }
  });
}

t("positions walk the changelog", async () => {
  const data = generateThreatData({ malware: 7, startMs: START_MS });
  const simulator = startThreatHqSimulator({ ...data, pageSize: 3 });
  try {
    const { api } = createTestClient(simulator);
    const sizes: number[] = [];
    let page = await api.updates({ timestamp: START_MS / 1000 });
    sizes.push(page.entries.length);
    while (page.entries.length > 0) {
      page = await api.updates({ position: page.nextPosition });
      sizes.push(page.entries.length);
    }
    assert.equal(sizes, [3, 3, 1, 0]);

    const later = await api.updates({ timestamp: START_MS / 1000 + 5 });
    assert.equal(later.entries.map((entry) => entry.threatId), [
      300_005,
      300_006,
    ]);
  } finally {
    await simulator.close();
  }
});

t("millisecond timestamp returns nothing", async () => {
  const data = generateThreatData({ malware: 2, startMs: START_MS });
  const simulator = startThreatHqSimulator({ ...data });
  try {
    const { api } = createTestClient(simulator);
    const page = await api.updates({ timestamp: START_MS });
    assert.is(page.entries.length, 0);
  } finally {
    await simulator.close();
  }
});

t("checks Basic auth", async () => {
  const simulator = startThreatHqSimulator({});
  try {
    const url = `${simulator.url}threat/updates?timestamp=0`;
    const wrong = await post(url, simulator.user, "nope");
    assert.is(wrong.status, 401);
    assert.is(wrong.body.success, false);
    const right = await post(url, simulator.user, simulator.password);
    assert.is(right.status, 200);
    assert.is(right.body.success, true);
    assert.equal(right.body.data.changelog, []);

    const { api } = createTestClient(simulator, { user: "other" });
    assert.instance(await rejectionOf(api.feed()), ThreatHqAuthError);
  } finally {
    await simulator.close();
  }
});

t("records requests with times", async () => {
  const simulator = startThreatHqSimulator({});
  try {
    const { api } = createTestClient(simulator);
    await api.feed();
    await api.feed();
    const [first, second] = simulator.requests;
    assert.is(first.endpoint, "feed");
    assert.is(first.status, 200);
    assert.ok(second.timeMs >= first.timeMs);
    assert.ok(Math.abs(first.timeMs - Date.now()) < 60_000);

    const control = await fetch(`${simulator.origin}/_simulator/requests`);
    assert.is((await control.json()).length, 2);
  } finally {
    await simulator.close();
  }
});

t("faults through the control endpoint", async () => {
  const simulator = startThreatHqSimulator({});
  try {
    const response = await fetch(`${simulator.origin}/_simulator/faults`, {
      method: "POST",
      body: JSON.stringify({ kind: "status", status: 503, times: 1 }),
    });
    assert.is(response.status, 200);
    await response.body?.cancel();
    const { api } = createTestClient(simulator);
    await api.feed();
    assert.equal(simulator.requests.map((request) => request.status), [
      503,
      200,
    ]);
  } finally {
    await simulator.close();
  }
});

t("generator is repeatable and varied", () => {
  const first = generateThreatData({
    malware: 200,
    startMs: START_MS,
    seed: 3,
  });
  const again = generateThreatData({
    malware: 200,
    startMs: START_MS,
    seed: 3,
  });
  assert.equal(first.threats[17], again.threats[17]);

  const blocks = first.threats.flatMap((threat) =>
    threat.blockSet as Array<Record<string, unknown>>
  );
  const types = new Set(blocks.map((block) => block.blockType));
  const impacts = new Set(blocks.map((block) => block.impact));
  assert.equal([...types].sort(), [
    "Domain Name",
    "Email",
    "IPv4 Address",
    "URL",
  ]);
  assert.equal([...impacts].sort(), ["Major", "Minor", "Moderate", "None"]);
  const labels = first.threats.flatMap((threat) =>
    (threat.naicsCodes as Array<{ label: string }>).map((code) => code.label)
  );
  assert.ok(labels.includes("Mining (except Oil and Gas)"));
  const subjects = first.threats.flatMap((threat) =>
    (threat.subjectSet as Array<{ subject: string }>).map((s) => s.subject)
  );
  assert.ok(subjects.some((subject) => /[^ -~]/.test(subject)));
  const reports = first.threats.filter((threat) => threat.hasReport).length;
  assert.ok(reports > 0);
  assert.ok(reports < 200);
});

type Phish = Record<string, unknown>;

function phishThreats(count: number, seed = 5): Phish[] {
  return generateThreatData({
    malware: 0,
    phish: count,
    startMs: START_MS,
    seed,
  }).threats;
}

t("generated phish threats have every field", () => {
  const threats = phishThreats(200);
  const required = [
    "brands",
    "confirmedDate",
    "firstDate",
    "lastDate",
    "feeds",
    "processingState",
    "phishingURL",
    "phishingURL_1",
    "reportedURLs",
    "reportedURLs_1",
    "actionURLs",
    "actionURLs_1",
    "ipDetail",
    "title",
    "language",
    "kits",
    "isConfirmedPhishingWebsite",
    "threatDetailURL",
    "webComponents",
  ];
  for (const field of required) {
    const missing = threats.filter((threat) => threat[field] === undefined);
    assert.is(missing.length, 0, `${field} is missing on some threats`);
  }
  assert.ok(threats.every((threat) => threat.threatType === "PHISH"));

  const lists = (field: string) =>
    threats.flatMap((threat) => threat[field] as unknown[]);
  assert.ok(lists("actionURLs_1").length > 0);
  assert.is(lists("actionURLs_1").length, lists("actionURLs").length);
  assert.is(lists("reportedURLs_1").length, lists("reportedURLs").length);

  const kits = lists("kits") as Phish[];
  const files = kits.flatMap((kit) => kit.files as Phish[]);
  const emails = files.flatMap((file) => file.emails as Phish[]);
  assert.ok(kits.length > 0);
  assert.ok(files.length > 0);
  assert.ok(emails.length > 0);
  assert.ok(emails.every((email) => typeof email.obfuscationType === "string"));
  assert.ok(kits.some((kit) => Array.isArray(kit.observedEmails)));

  const shots = threats.map((threat) => threat.screenshot as Phish | undefined);
  const both = shots.filter((shot) => shot?.url_1 !== undefined);
  const stringOnly = shots.filter((shot) =>
    shot !== undefined && shot.url_1 === undefined
  );
  assert.ok(both.length > 0);
  assert.ok(stringOnly.length > 0);
  assert.ok(shots.some((shot) => shot === undefined));
  assert.match(String(both[0]?.url), /\/apiv1\/screenshot\/\d+$/);
});

t("generated phish threats parse cleanly", () => {
  for (const threat of phishThreats(50, 8)) {
    const parsed = parsePhishThreat(threat);
    assert.ok(parsed.ok);
    assert.equal(parsed.issues, [], `threat ${threat.id}`);
  }
});

/** Checks PNG structure: signature, chunk CRCs, IHDR first, IEND last. */
async function pngProblems(png: Uint8Array): Promise<string[]> {
  const problems: string[] = [];
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (!signature.every((byte, i) => png[i] === byte)) {
    problems.push("bad signature");
  }

  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const types: string[] = [];
  let offset = 8;
  while (offset + 12 <= png.byteLength) {
    const length = view.getUint32(offset);
    const type = new TextDecoder().decode(png.subarray(offset + 4, offset + 8));
    const crc = view.getUint32(offset + 8 + length);
    const covered = png.subarray(offset + 4, offset + 8 + length);
    if (crc32(covered) !== crc) problems.push(`bad CRC in ${type}`);
    if (type === "IDAT") {
      const data = png.slice(offset + 8, offset + 8 + length);
      const stream = new Blob([data]).stream().pipeThrough(
        new DecompressionStream("deflate"),
      );
      const pixels = new Uint8Array(await new Response(stream).arrayBuffer());
      // One scanline of one RGB pixel: a filter byte and three samples.
      if (pixels.byteLength !== 4) problems.push("bad IDAT size");
    }
    types.push(type);
    offset += 12 + length;
  }
  if (offset !== png.byteLength) problems.push("trailing bytes");
  if (types[0] !== "IHDR") problems.push("IHDR is not first");
  if (types.at(-1) !== "IEND") problems.push("IEND is not last");
  return problems;
}

t("generated PNGs are valid at any size", async () => {
  for (const size of [MIN_PNG_BYTES, MIN_PNG_BYTES + 1, 2000, 70_000]) {
    const png = generatePng(300_001, size);
    assert.is(png.byteLength, size);
    assert.equal(await pngProblems(png), [], `size ${size}`);
  }
  // Smaller sizes give the smallest PNG.
  assert.is(generatePng(1, 10).byteLength, MIN_PNG_BYTES);
});

t("serves phish screenshots", async () => {
  const threats = phishThreats(20);
  const withShot = threats.find((threat) => threat.screenshot !== undefined)!;
  const without = threats.find((threat) => threat.screenshot === undefined)!;
  const simulator = startThreatHqSimulator({ threats, screenshotBytes: 1500 });
  try {
    const { api } = createTestClient(simulator, { retries: 1 });
    const image = await api.screenshot(withShot.id as number, {
      maxBytes: 10_000,
    });
    assert.is(image.kind, "image");
    if (image.kind !== "image") return;
    assert.is(image.mimeType, "image/png");
    assert.is(image.extension, "png");
    assert.is(image.data.byteLength, 1500);
    assert.equal(await pngProblems(image.data), []);
    assert.equal(simulator.requestsTo("screenshot/{id}").map((r) => r.path), [
      `/apiv1/screenshot/${withShot.id}`,
    ]);

    const none = await api.screenshot(without.id as number, {
      maxBytes: 10_000,
    });
    assert.is(none.kind, "missing");

    simulator.setScreenshot(withShot.id as number, null);
    const removed = await api.screenshot(withShot.id as number, {
      maxBytes: 10_000,
    });
    assert.is(removed.kind, "missing");

    simulator.injectFault({
      kind: "status",
      status: 503,
      times: Infinity,
      match: { endpoint: "screenshot/{id}" },
    });
    const failed = await rejectionOf(
      api.screenshot(without.id as number, { maxBytes: 10_000 }),
    );
    assert.instance(failed, ThreatHqServerError);
  } finally {
    await simulator.close();
  }
});

t.run();
