import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { StartDate } from "../../src/config/parsers.ts";
import {
  ThreatHqAuthError,
  ThreatHqServerError,
} from "../../src/threathq/errors.ts";
import {
  type MapThreat,
  type SyncOptions,
  type SyncResult,
  syncThreats,
  type ThreatToMap,
} from "../../src/threathq/sync.ts";
import type { SyncState } from "../../src/threathq/sync_state.ts";
import { formatStateDateTime } from "../../src/threathq/sync_state.ts";
import {
  createTestClient,
  recordsWith,
  rejectionOf,
} from "../support/threathq_harness.ts";
import {
  type SimulatorOptions,
  startThreatHqSimulator,
  type ThreatHqSimulator,
} from "../support/threathq_simulator.ts";
import {
  createRandom,
  generateMalwareThreat,
  generatePng,
  generateThreatData,
} from "../support/threat_generator.ts";

const t = suite("threathq: sync engine");

const START_MS = Date.UTC(2025, 0, 1);
const RUN_MS = Date.UTC(2025, 0, 20, 8, 30, 15);
const START_DATE: StartDate = { kind: "instant", epochMs: START_MS };

interface Mapped {
  id: number;
  type: string;
  occurredOn: number;
  files: string[];
}

/** Maps malware to a small record; phish is not mapped. */
const mapMalware: MapThreat<Mapped> = (input: ThreatToMap) => {
  if (input.threatType !== "malware") return undefined;
  return {
    ok: true,
    threat: {
      id: input.threatId,
      type: input.threatType,
      occurredOn: input.occurredOn,
      files: input.attachments.map((file) => file.name),
    },
  };
};

interface AttachmentSeen {
  name: string;
  mimeType: string;
  /** The first bytes. */
  head: number[];
  bytes: number;
}

/** Copies what a test checks of an attachment while the map function runs. */
function describeAttachment(
  attachment: ThreatToMap["attachments"][number],
  headBytes = 5,
): AttachmentSeen {
  return {
    name: attachment.name,
    mimeType: attachment.mimeType,
    head: [...attachment.data.subarray(0, headBytes)],
    bytes: attachment.data.byteLength,
  };
}

let simulator: ThreatHqSimulator | undefined;

t.after.each(async () => {
  await simulator?.close();
  simulator = undefined;
});

function start(options: SimulatorOptions): ThreatHqSimulator {
  simulator = startThreatHqSimulator(options);
  return simulator;
}

interface RunOutcome {
  results: SyncResult<Mapped>[];
  state: SyncState | undefined;
  logger: ReturnType<typeof createTestClient>["logger"];
}

/** Runs the engine to its end, saving the state after each result. */
async function runToEnd(
  sim: ThreatHqSimulator,
  overrides: Partial<SyncOptions<Mapped>> = {},
  clientOverrides: Parameters<typeof createTestClient>[1] = {},
): Promise<RunOutcome> {
  const { api, logger } = createTestClient(sim, clientOverrides);
  const results: SyncResult<Mapped>[] = [];
  let state = overrides.savedState as SyncState | undefined;
  for await (
    const result of syncThreats({
      api,
      logger,
      map: mapMalware,
      savedState: state,
      importStartDate: START_DATE,
      importReportPdf: false,
      pdfMaxBytes: 10_000_000,
      concurrency: 4,
      now: () => RUN_MS,
      ...overrides,
    })
  ) {
    results.push(result);
    state = result.state;
  }
  return { results, state, logger };
}

function mappedIds(results: SyncResult<Mapped>[]): number[] {
  return results.flatMap((result) => result.mapped.map((m) => m.threatId));
}

function queryOf(request: { query: string }): URLSearchParams {
  return new URLSearchParams(request.query);
}

t("first run reads by timestamp in seconds", async () => {
  const data = generateThreatData({ malware: 3, startMs: START_MS });
  const sim = start({ ...data });
  await runToEnd(sim);

  const first = queryOf(sim.requestsTo("threat/updates")[0]);
  assert.is(first.get("timestamp"), String(START_MS / 1000));
  assert.is(first.get("position"), null);
});

t("page limit ends a run and the next resumes", async () => {
  const data = generateThreatData({ malware: 25, startMs: START_MS });
  const sim = start({ ...data, pageSize: 10 });

  const first = await runToEnd(sim, { maxPages: 2 });
  assert.is(sim.requestsTo("threat/updates").length, 2);
  assert.is(mappedIds(first.results).length, 20);
  assert.is(first.state?.next_position, first.results.at(-1)!.nextPosition);
  const stopped = recordsWith(
    first.logger,
    "Stopped at the page limit of one run; the next run continues from the saved position",
  );
  assert.is(stopped.length, 1);

  const second = await runToEnd(sim, { savedState: first.state });
  const all = [...mappedIds(first.results), ...mappedIds(second.results)];
  assert.equal(all.sort(), data.threats.map((x) => x.id).sort());
});

t("pages to the end in one run", async () => {
  const data = generateThreatData({ malware: 25, startMs: START_MS });
  const sim = start({ ...data, pageSize: 10 });
  const { results, state, logger } = await runToEnd(sim);

  assert.equal(mappedIds(results).sort(), data.threats.map((x) => x.id).sort());
  const updates = sim.requestsTo("threat/updates");
  assert.is(updates.length, 4);
  for (const [index, request] of updates.slice(1).entries()) {
    assert.is(queryOf(request).get("position"), results[index].nextPosition);
  }
  const last = results.at(-1)!;
  assert.is(last.mapped.length, 0);
  assert.ok(last.pageComplete);
  assert.is(state?.next_position, last.nextPosition);
  assert.is(state?.current_position, results.at(-2)!.nextPosition);
  assert.is(state?.last_run_start_datetime, "2025-01-20T08:30:15+00:00");
  assert.is(
    state?.last_run_end_datetime_with_ingested_data,
    "2025-01-20T08:30:15+00:00",
  );

  const pages = recordsWith(logger, "ThreatHQ changelog page processed");
  assert.is(pages.length, 4);
  const firstPage = pages[0].attributes as Record<string, unknown>;
  assert.is(firstPage.entries, 10);
  assert.is(firstPage.threats_fetched, 10);
  assert.is(firstPage.deletions, 0);
  assert.is(firstPage.skipped, 0);
  assert.is(typeof firstPage.elapsed_ms, "number");
  assert.is(firstPage.next_position, results[0].nextPosition);
});

t("resumes from a saved position", async () => {
  const data = generateThreatData({ malware: 5, startMs: START_MS });
  const sim = start({ ...data });
  const first = await runToEnd(sim);

  const random = createRandom(9);
  const later = START_MS + 86_400_000;
  const fresh = [400_001, 400_002].map((id) =>
    generateMalwareThreat(random, id, later)
  );
  for (const threat of fresh) sim.publish(threat, later);
  const before = sim.requests.length;
  const second = await runToEnd(sim, { savedState: first.state });

  const firstUpdate = sim.requests.slice(before).find((request) =>
    request.endpoint === "threat/updates"
  )!;
  assert.is(queryOf(firstUpdate).get("position"), first.state!.next_position);
  assert.is(queryOf(firstUpdate).get("timestamp"), null);
  assert.equal(mappedIds(second.results), [400_001, 400_002]);
});

t("keeps keys of the saved state", async () => {
  const data = generateThreatData({ malware: 2, startMs: START_MS });
  const sim = start({ ...data });
  const { state } = await runToEnd(sim, {
    savedState: { custom_key: "kept" },
  });
  assert.is(state?.custom_key, "kept");
});

t("rejected position restarts a day before", async () => {
  const data = generateThreatData({ malware: 4, startMs: START_MS });
  const sim = start({ ...data });
  const lastRunStart = "2025-01-02T00:00:00+00:00";
  const saved = {
    next_position: "expired-position",
    last_run_start_datetime: lastRunStart,
  };
  const { results, logger } = await runToEnd(sim, { savedState: saved });

  const updates = sim.requestsTo("threat/updates");
  assert.is(queryOf(updates[0]).get("position"), "expired-position");
  assert.is(updates[0].status, 400);
  const fallback = Date.UTC(2025, 0, 1) / 1000;
  assert.is(queryOf(updates[1]).get("timestamp"), String(fallback));
  assert.is(mappedIds(results).length, 4);

  const warnings = recordsWith(
    logger,
    "ThreatHQ rejected the saved position; reading from a time instead",
  );
  assert.is(warnings.length, 1);
  const attributes = warnings[0].attributes as Record<string, unknown>;
  assert.is(attributes.position, "expired-position");
  assert.is(attributes.from_datetime, "2025-01-01T00:00:00+00:00");
});

t("rejected position without last run uses start", async () => {
  const data = generateThreatData({ malware: 2, startMs: START_MS });
  const sim = start({ ...data });
  sim.expirePositions();
  await runToEnd(sim, { savedState: { next_position: "gone" } });

  const updates = sim.requestsTo("threat/updates");
  assert.is(queryOf(updates[1]).get("timestamp"), String(START_MS / 1000));
});

t("batched details fall back per id", async () => {
  const data = generateThreatData({ malware: 6, phish: 2, startMs: START_MS });
  const sim = start({ ...data });
  sim.hideFromSearch("malware", 300_003);
  sim.hideFromSearch("phish", 300_007);
  const { results } = await runToEnd(sim);

  const searches = sim.requestsTo("threat/search");
  assert.is(searches.length, 1);
  const ids = queryOf(searches[0]).getAll("threatId");
  assert.equal(ids, [
    "m_300000",
    "m_300001",
    "m_300002",
    "m_300003",
    "m_300004",
    "m_300005",
    "p_300006",
    "p_300007",
  ]);
  assert.is(queryOf(searches[0]).get("resultsPerPage"), "100");
  assert.equal(
    sim.requestsTo("threat/malware/{id}").map((request) => request.path),
    ["/apiv1/threat/malware/300003"],
  );
  assert.equal(
    sim.requestsTo("threat/phish/{id}").map((request) => request.path),
    ["/apiv1/threat/phish/300007"],
  );
  assert.is(results[0].counts.fetchedBySearch, 6);
  assert.is(results[0].counts.fetchedSingly, 2);
  assert.ok(mappedIds(results).includes(300_003));
});

t("search paging is followed", async () => {
  const data = generateThreatData({ malware: 12, startMs: START_MS });
  const sim = start({ ...data, maxResultsPerPage: 5 });
  const { results } = await runToEnd(sim);

  const pages = sim.requestsTo("threat/search").map((request) =>
    queryOf(request).get("page")
  );
  assert.equal(pages, ["0", "1", "2"]);
  assert.is(mappedIds(results).length, 12);
  assert.is(sim.requestsTo("threat/malware/{id}").length, 0);
});

t("404 on a detail skips the threat", async () => {
  const data = generateThreatData({ malware: 3, startMs: START_MS });
  const sim = start({ ...data });
  sim.publish({ id: 1, threatType: "MALWARE" }, START_MS + 10);
  sim.hideFromSearch("malware", 1);
  sim.delete("malware", 1, START_MS - 10);
  const { results, logger } = await runToEnd(sim);

  const problems = results.flatMap((result) => result.problems);
  assert.equal(problems.map((problem) => problem.reason), ["not_found"]);
  assert.is(problems[0].threatId, 1);
  assert.ok(problems[0].threatSkipped);
  assert.is(
    recordsWith(logger, "Skipped a ThreatHQ threat that was not found").length,
    1,
  );
  assert.is(mappedIds(results).length, 3);
});

t("deduplicates by newest occurredOn", async () => {
  const data = generateThreatData({
    malware: 20,
    startMs: START_MS,
    duplicateShare: 0.5,
    seed: 4,
  });
  const sim = start({ ...data });
  const { results } = await runToEnd(sim);

  const ids = mappedIds(results);
  assert.is(ids.length, 20);
  assert.is(new Set(ids).size, 20);
  assert.is(results[0].counts.duplicates, data.changelog.length - 20);
  const newest = new Map<number, number>();
  for (const event of data.changelog) {
    newest.set(
      event.threatId,
      Math.max(newest.get(event.threatId) ?? 0, event.occurredOn),
    );
  }
  for (const threat of results[0].mapped) {
    assert.is(threat.occurredOn, newest.get(threat.threatId));
  }
  const searched = queryOf(sim.requestsTo("threat/search")[0]).getAll(
    "threatId",
  );
  assert.is(searched.length, 20);
});

t("deletions are reported, not fetched", async () => {
  const data = generateThreatData({
    malware: 10,
    startMs: START_MS,
    deletionShare: 0.3,
  });
  const sim = start({ ...data });
  const { results } = await runToEnd(sim);

  const deletions = results.flatMap((result) => result.deletions);
  assert.equal(deletions.map((d) => d.threatId), [300_010, 300_011, 300_012]);
  assert.ok(deletions.every((d) => d.threatType === "malware"));
  const searched = queryOf(sim.requestsTo("threat/search")[0]).getAll(
    "threatId",
  );
  assert.not.ok(searched.includes("m_300010"));
  assert.is(sim.requestsTo("threat/malware/{id}").length, 0);
  assert.is(results[0].counts.deletions, 3);
});

t("phish threats route to phish endpoints", async () => {
  const data = generateThreatData({ malware: 1, phish: 2, startMs: START_MS });
  const sim = start({ ...data });
  sim.hideFromSearch("phish", 300_002);
  const seen: ThreatToMap[] = [];
  const { results } = await runToEnd(sim, {
    map: (input) => {
      seen.push(input);
      return mapMalware(input);
    },
  });

  const phish = seen.filter((input) => input.threatType === "phish");
  assert.equal(phish.map((input) => input.threatId), [300_001, 300_002]);
  assert.ok(
    phish.every((input) =>
      (input.detail as { threatType: string }).threatType === "PHISH"
    ),
  );
  assert.is(sim.requestsTo("threat/malware/{id}").length, 0);
  assert.is(sim.requestsTo("threat/phish/{id}").length, 1);
  const reasons = results[0].problems.map((problem) => problem.reason);
  assert.equal(reasons, ["not_mapped", "not_mapped"]);
  assert.is(results[0].counts.skipped, 2);
  assert.equal(mappedIds(results), [300_000]);
});

t("map problems and throws skip the threat", async () => {
  const data = generateThreatData({ malware: 3, startMs: START_MS });
  const sim = start({ ...data });
  const { results } = await runToEnd(sim, {
    map: (input) => {
      if (input.threatId === 300_000) {
        return { ok: false, problems: ["no label"] };
      }
      if (input.threatId === 300_001) throw new Error("mapper bug");
      return mapMalware(input);
    },
  });
  const problems = results[0].problems;
  assert.equal(problems.map((problem) => problem.reason), [
    "map_problems",
    "map_failed",
  ]);
  assert.equal(problems[0].details, ["no label"]);
  assert.match(problems[1].message, /mapper bug/);
  assert.equal(mappedIds(results), [300_002]);
});

t("PDFs attach to threats with reports", async () => {
  const data = generateThreatData({
    malware: 4,
    startMs: START_MS,
    hasReport: true,
  });
  data.threats[3].hasReport = false;
  const sim = start({ ...data, pdfBytes: 3000 });
  const seen: AttachmentSeen[] = [];
  const { results } = await runToEnd(sim, {
    importReportPdf: true,
    map: (input) => {
      seen.push(...input.attachments.map((file) => describeAttachment(file)));
      return mapMalware(input);
    },
  });

  assert.is(sim.requestsTo("t3/malware/{id}/pdf").length, 3);
  assert.is(seen.length, 3);
  assert.equal(seen[0], {
    name: "Report-300000.pdf",
    mimeType: "application/pdf",
    head: [...new TextEncoder().encode("%PDF-")],
    bytes: 3000,
  });
  assert.is(results[0].counts.pdfsAttached, 3);
  assert.equal(results[0].mapped.map((threat) => threat.pdfAttached), [
    true,
    true,
    true,
    false,
  ]);
});

t("attachment bytes are released after map", async () => {
  const data = generateThreatData({
    malware: 2,
    startMs: START_MS,
    hasReport: true,
  });
  const sim = start({ ...data, pdfBytes: 3000 });
  const kept: Uint8Array[] = [];
  const sizesDuringMap: number[] = [];
  await runToEnd(sim, {
    importReportPdf: true,
    map: async (input) => {
      // The bytes stay readable across an await inside the map function.
      await Promise.resolve();
      sizesDuringMap.push(...input.attachments.map((a) => a.data.byteLength));
      kept.push(...input.attachments.map((attachment) => attachment.data));
      return mapMalware(input);
    },
  });

  assert.equal(sizesDuringMap, [3000, 3000]);
  assert.equal(kept.map((data) => data.byteLength), [0, 0]);
  assert.ok(kept.every((data) => (data.buffer as ArrayBuffer).detached));
});

t("PDF failures keep the threat", async () => {
  const data = generateThreatData({
    malware: 4,
    startMs: START_MS,
    hasReport: true,
  });
  const sim = start({ ...data, pdfBytes: 3000 });
  sim.setPdf(300_000, null);
  sim.setPdf(300_001, new TextEncoder().encode("<html>error</html>"));
  sim.setPdf(300_002, new Uint8Array(5000).fill(0x25));
  sim.injectFault({
    kind: "status",
    status: 503,
    times: Infinity,
    match: { endpoint: "t3/malware/{id}/pdf", threatId: 300_003 },
  });
  const { results, logger } = await runToEnd(sim, {
    importReportPdf: true,
    pdfMaxBytes: 4000,
  }, { retries: 1 });

  assert.equal(mappedIds(results), [300_000, 300_001, 300_002, 300_003]);
  const reasons = results[0].problems.map((problem) => problem.reason);
  assert.equal(reasons, [
    "pdf_missing",
    "pdf_invalid",
    "pdf_too_large",
    "pdf_failed",
  ]);
  assert.ok(results[0].problems.every((problem) => !problem.threatSkipped));
  assert.match(results[0].problems[2].message, /5000 bytes/);
  assert.is(results[0].counts.pdfsAttached, 0);
  assert.is(results[0].counts.pdfsLeftOff, 4);
  assert.is(results[0].counts.skipped, 0);
  assert.equal(sim.requestsTo("t3/malware/{id}/pdf").length, 5);
  const large =
    recordsWith(logger, "Left a ThreatHQ PDF report off: it is too large")[0];
  assert.is((large.attributes as Record<string, unknown>).bytes, 5000);
});

/** Generated phish threats, each given the screenshot field `shot`. */
function phishWithScreenshots(
  count: number,
  shot: (id: number) => Record<string, unknown> | undefined,
) {
  const data = generateThreatData({
    malware: 0,
    phish: count,
    startMs: START_MS,
  });
  for (const threat of data.threats) {
    const field = shot(threat.id as number);
    if (field === undefined) delete threat.screenshot;
    else threat.screenshot = field;
  }
  return data;
}

const apiScreenshot = (id: number) => {
  const url = `https://www.threathq.com/apiv1/screenshot/${id}`;
  return { url, url_1: { url, host: "www.threathq.com", protocol: "https" } };
};

/** Maps every threat, phish included, to a small record. */
const mapAll: MapThreat<Mapped> = (input) => ({
  ok: true,
  threat: {
    id: input.threatId,
    type: input.threatType,
    occurredOn: input.occurredOn,
    files: input.attachments.map((file) => file.name),
  },
});

t("phish screenshots attach", async () => {
  const data = phishWithScreenshots(4, (id) =>
    id === 300_002
      // Only the deprecated string form.
      ? { url: `https://www.threathq.com/apiv1/screenshot/${id}` }
      : id === 300_003
      ? undefined
      : apiScreenshot(id));
  const sim = start({ ...data, screenshotBytes: 700 });
  const seen: AttachmentSeen[] = [];
  const { results, logger } = await runToEnd(sim, {
    importReportPdf: true,
    map: (input) => {
      seen.push(
        ...input.attachments.map((file) => describeAttachment(file, 8)),
      );
      return mapAll(input);
    },
  });

  assert.equal(
    sim.requestsTo("screenshot/{id}").map((request) => request.path),
    [
      "/apiv1/screenshot/300000",
      "/apiv1/screenshot/300001",
      "/apiv1/screenshot/300002",
    ],
  );
  assert.equal(seen.map((file) => file.name), [
    "Screenshot-300000.png",
    "Screenshot-300001.png",
    "Screenshot-300002.png",
  ]);
  assert.ok(seen.every((file) => file.mimeType === "image/png"));
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  for (const file of seen) assert.equal(file.head, signature);
  assert.ok(seen.every((file) => file.bytes === 700));
  assert.is(results[0].counts.screenshotsAttached, 3);
  assert.is(results[0].counts.screenshotsLeftOff, 0);
  assert.is(results[0].counts.pdfsAttached, 0);
  assert.equal(
    results[0].mapped.map((threat) => threat.screenshotAttached),
    [true, true, true, false],
  );
  assert.equal(results[0].problems, []);
  const page = recordsWith(logger, "ThreatHQ changelog page processed")[0];
  assert.is(
    (page.attributes as Record<string, unknown>).screenshots_attached,
    3,
  );
});

t("screenshots follow the PDF setting", async () => {
  const data = phishWithScreenshots(2, apiScreenshot);
  const sim = start({ ...data });
  const { results } = await runToEnd(sim, {
    importReportPdf: false,
    map: mapAll,
  });
  assert.is(sim.requestsTo("screenshot/{id}").length, 0);
  assert.is(mappedIds(results).length, 2);
});

t("screenshot failures keep the threat", async () => {
  const data = phishWithScreenshots(6, apiScreenshot);
  const sim = start({ ...data, screenshotBytes: 700 });
  sim.setScreenshot(300_000, null);
  sim.setScreenshot(300_001, new TextEncoder().encode("<html>gone</html>"));
  sim.setScreenshot(300_002, new Uint8Array(5000).fill(0x89));
  sim.injectFault({
    kind: "status",
    status: 503,
    times: Infinity,
    match: { endpoint: "screenshot/{id}", threatId: 300_003 },
  });
  // JPEG and GIF bodies are images too, named by their type.
  sim.setScreenshot(300_004, new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16]));
  sim.setScreenshot(300_005, new TextEncoder().encode("GIF89a\x01\x00"));
  const names: string[] = [];
  const { results, logger } = await runToEnd(sim, {
    importReportPdf: true,
    pdfMaxBytes: 4000,
    map: (input) => {
      names.push(...input.attachments.map((file) => file.name));
      return mapAll(input);
    },
  }, { retries: 1 });

  assert.equal(mappedIds(results), [
    300_000,
    300_001,
    300_002,
    300_003,
    300_004,
    300_005,
  ]);
  const problems = results[0].problems;
  assert.equal(problems.map((problem) => problem.reason), [
    "screenshot_missing",
    "screenshot_invalid",
    "screenshot_too_large",
    "screenshot_failed",
  ]);
  assert.equal(problems.map((problem) => problem.threatId), [
    300_000,
    300_001,
    300_002,
    300_003,
  ]);
  assert.ok(problems.every((problem) => !problem.threatSkipped));
  assert.match(problems[1].message, /not a PNG, JPEG or GIF image/);
  assert.match(problems[1].message, /3c 68 74 6d 6c/);
  assert.match(problems[2].message, /5000 bytes/);
  assert.equal(names, ["Screenshot-300004.jpg", "Screenshot-300005.gif"]);
  assert.is(results[0].counts.screenshotsAttached, 2);
  assert.is(results[0].counts.screenshotsLeftOff, 4);
  assert.is(results[0].counts.pdfsLeftOff, 0);
  assert.is(results[0].counts.skipped, 0);
  // The 503 is retried once, as any 5xx.
  assert.is(
    sim.requestsTo("screenshot/{id}").filter((request) =>
      request.path.endsWith("/300003")
    ).length,
    2,
  );
  for (
    const message of [
      "ThreatHQ has no screenshot for a phish threat",
      "Left a ThreatHQ screenshot off: the body is not a PNG, JPEG or GIF image",
      "Left a ThreatHQ screenshot off: it is too large",
      "Left a ThreatHQ screenshot off: the download failed",
    ]
  ) {
    assert.is(recordsWith(logger, message).length, 1, message);
  }
});

t("screenshot URL elsewhere is not followed", async () => {
  const decoyRequests: string[] = [];
  const decoy = Deno.serve({ port: 0, onListen: () => {} }, (request) => {
    decoyRequests.push(request.url);
    return new Response(generatePng(1, 500), {
      headers: { "content-type": "image/png" },
    });
  });
  try {
    const elsewhere = `http://127.0.0.1:${decoy.addr.port}/apiv1/screenshot/9`;
    const data = phishWithScreenshots(
      2,
      (id) =>
        id === 300_000
          ? { url: elsewhere, url_1: { url: elsewhere, host: "127.0.0.1" } }
          : { url: elsewhere },
    );
    const sim = start({ ...data, screenshotBytes: 600 });
    const seen: AttachmentSeen[] = [];
    await runToEnd(sim, {
      importReportPdf: true,
      map: (input) => {
        seen.push(...input.attachments.map((file) => describeAttachment(file)));
        return mapAll(input);
      },
    });

    assert.equal(decoyRequests, []);
    assert.equal(
      sim.requestsTo("screenshot/{id}").map((request) => request.path),
      ["/apiv1/screenshot/300000", "/apiv1/screenshot/300001"],
    );
    assert.equal(seen.map((file) => [file.name, file.bytes]), [
      ["Screenshot-300000.png", 600],
      ["Screenshot-300001.png", 600],
    ]);
  } finally {
    await decoy.shutdown();
  }
});

t("401 on a screenshot stops the run", async () => {
  const data = phishWithScreenshots(2, apiScreenshot);
  const sim = start({ ...data });
  sim.injectFault({
    kind: "unauthorized",
    match: { endpoint: "screenshot/{id}" },
  });
  const error = await rejectionOf(
    runToEnd(sim, { importReportPdf: true, map: mapAll }),
  );
  assert.instance(error, ThreatHqAuthError);
});

t("PDFs are skipped when turned off", async () => {
  const data = generateThreatData({
    malware: 3,
    startMs: START_MS,
    hasReport: true,
  });
  const sim = start({ ...data });
  await runToEnd(sim, { importReportPdf: false });
  assert.is(sim.requestsTo("t3/malware/{id}/pdf").length, 0);
});

t("429 with Retry-After during a run", async () => {
  const data = generateThreatData({ malware: 5, startMs: START_MS });
  const sim = start({ ...data });
  sim.injectFault({
    kind: "status",
    status: 429,
    retryAfter: "3",
    match: { endpoint: "threat/search" },
  });
  const { api, sleeps } = createTestClient(sim);
  const results: SyncResult<Mapped>[] = [];
  for await (
    const result of syncThreats({
      api,
      logger: createTestClient(sim).logger,
      map: mapMalware,
      savedState: undefined,
      importStartDate: START_DATE,
      importReportPdf: false,
      pdfMaxBytes: 1,
      concurrency: 2,
    })
  ) results.push(result);

  assert.equal(sleeps, [3000]);
  assert.is(mappedIds(results).length, 5);
  assert.equal(
    sim.requestsTo("threat/search").map((request) => request.status),
    [429, 200],
  );
});

t("5xx then success during a run", async () => {
  const data = generateThreatData({ malware: 5, startMs: START_MS });
  const sim = start({ ...data, pageSize: 2 });
  sim.injectFault({
    kind: "status",
    status: 500,
    match: { endpoint: "threat/updates" },
    times: 2,
  });
  const { results } = await runToEnd(sim);
  assert.is(mappedIds(results).length, 5);
  assert.equal(
    sim.requestsTo("threat/updates").slice(0, 3).map((request) =>
      request.status
    ),
    [500, 500, 200],
  );
});

t("retries exhausted ends the run", async () => {
  const data = generateThreatData({ malware: 6, startMs: START_MS });
  const sim = start({ ...data, pageSize: 3 });
  const { api, logger } = createTestClient(sim, { retries: 2 });
  const results: SyncResult<Mapped>[] = [];
  const iterator = syncThreats({
    api,
    logger,
    map: mapMalware,
    savedState: undefined,
    importStartDate: START_DATE,
    importReportPdf: false,
    pdfMaxBytes: 1,
    concurrency: 2,
  });
  const first = await iterator.next();
  if (!first.done) results.push(first.value);
  sim.injectFault({ kind: "status", status: 503, times: Infinity });
  const error = await rejectionOf(iterator.next());

  assert.instance(error, ThreatHqServerError);
  assert.is((error as ThreatHqServerError).status, 503);
  assert.is(results.length, 1);
  assert.is(results[0].state.next_position, results[0].nextPosition);
  const after = await iterator.next();
  assert.ok(after.done);
});

t("401 stops the run with a clear message", async () => {
  const data = generateThreatData({ malware: 3, startMs: START_MS });
  const sim = start({ ...data });
  sim.injectFault({
    kind: "unauthorized",
    match: { endpoint: "threat/search" },
  });
  const error = await rejectionOf(runToEnd(sim));

  assert.instance(error, ThreatHqAuthError);
  assert.match(
    (error as Error).message,
    /ThreatHQ rejected the credentials \(HTTP 401 on POST \/apiv1\/threat\/search\); check COFENSE_THREATHQ_TOKEN_USER and COFENSE_THREATHQ_TOKEN_PASSWORD/,
  );
  assert.is(sim.requestsTo("threat/search").length, 1);
});

t("401 on a PDF stops the run", async () => {
  const data = generateThreatData({
    malware: 3,
    startMs: START_MS,
    hasReport: true,
  });
  const sim = start({ ...data });
  sim.injectFault({
    kind: "unauthorized",
    match: { endpoint: "t3/malware/{id}/pdf" },
  });
  const error = await rejectionOf(runToEnd(sim, { importReportPdf: true }));
  assert.instance(error, ThreatHqAuthError);
});

t("timeouts during a run are retried", async () => {
  const data = generateThreatData({ malware: 3, startMs: START_MS });
  const sim = start({ ...data });
  sim.injectFault({ kind: "timeout", match: { endpoint: "threat/search" } });
  const { results } = await runToEnd(sim, {}, { timeoutMs: 150 });
  assert.is(mappedIds(results).length, 3);
  assert.is(sim.requestsTo("threat/search").length, 2);
});

t("truncated changelog JSON is retried", async () => {
  const data = generateThreatData({ malware: 3, startMs: START_MS });
  const sim = start({ ...data });
  sim.injectFault({ kind: "truncated", match: { endpoint: "threat/updates" } });
  const { results } = await runToEnd(sim);
  assert.is(mappedIds(results).length, 3);
  assert.is(sim.requestsTo("threat/updates")[0].fault, "truncated");
});

t("invalid changelog entries are reported", async () => {
  const data = generateThreatData({ malware: 2, startMs: START_MS });
  const sim = start({
    ...data,
    changelog: [
      ...data.changelog,
      {
        threatType: "brand" as "phish",
        threatId: 5,
        occurredOn: START_MS + 5000,
        deleted: false,
      },
    ],
  });
  const { results, logger } = await runToEnd(sim);
  const problem = results[0].problems[0];
  assert.is(problem.reason, "invalid_entry");
  assert.is(results[0].counts.entries, 3);
  assert.is(mappedIds(results).length, 2);
  const logged = logger.records().filter((record) =>
    record.message === "Skipped an invalid changelog entry"
  );
  assert.is(logged.length, 1);
  assert.match(JSON.stringify(logged[0].attributes), '"threatId":5');
});

t("loosely typed changelog entries are read", async () => {
  const data = generateThreatData({ malware: 2, startMs: START_MS });
  const changelog = data.changelog.map((entry, index) =>
    index === 0
      ? {
        ...entry,
        threatType: "malware " as "malware",
        occurredOn: String(entry.occurredOn) as unknown as number,
        deleted: "false" as unknown as boolean,
      }
      : entry
  );
  const sim = start({ ...data, changelog });
  const { results } = await runToEnd(sim);

  assert.is(results[0].problems.length, 0);
  assert.is(mappedIds(results).length, 2);
});

t("300 threats need at most 10 requests", async () => {
  const data = generateThreatData({
    malware: 300,
    startMs: START_MS,
    duplicateShare: 0.1,
    deletionShare: 0.05,
  });
  const sim = start({ ...data });
  const { results } = await runToEnd(sim);

  assert.is(mappedIds(results).length, 300);
  assert.ok(sim.requests.length <= 10, `${sim.requests.length} requests`);
  assert.is(sim.requestsTo("threat/search").length, 3);
});

t("PDFs add one request per report", async () => {
  const data = generateThreatData({ malware: 300, startMs: START_MS, seed: 7 });
  const reports = data.threats.filter((threat) => threat.hasReport).length;
  const sim = start({ ...data, pdfBytes: 100 });
  const { results } = await runToEnd(sim, { importReportPdf: true });

  assert.is(mappedIds(results).length, 300);
  assert.ok(reports > 200, `${reports} reports`);
  assert.ok(reports < 300, `${reports} reports`);
  assert.is(sim.requestsTo("t3/malware/{id}/pdf").length, reports);
  assert.ok(sim.requests.length <= 10 + reports, `${sim.requests.length}`);
});

t("a page splits into bounded results", async () => {
  const data = generateThreatData({ malware: 25, startMs: START_MS });
  const sim = start({ ...data });
  const { results } = await runToEnd(sim, { threatsPerResult: 10 });

  // One search request covers the three results.
  assert.is(sim.requestsTo("threat/search").length, 1);
  assert.equal(results.map((result) => result.counts.fetchedBySearch), [
    25,
    0,
    0,
    0,
  ]);

  const firstPage = results.filter((result) => result.position === undefined);
  assert.equal(firstPage.map((result) => result.mapped.length), [10, 10, 5]);
  assert.equal(firstPage.map((result) => result.pageComplete), [
    false,
    false,
    true,
  ]);
  assert.equal(firstPage.map((result) => result.parts), [3, 3, 3]);
  // Only the page's last result moves the position.
  assert.is(firstPage[0].state.next_position, undefined);
  assert.is(firstPage[1].state.next_position, undefined);
  assert.is(firstPage[2].state.next_position, firstPage[2].nextPosition);
});

t("prefetches at most one result", async () => {
  const data = generateThreatData({
    malware: 50,
    startMs: START_MS,
    hasReport: true,
  });
  const sim = start({ ...data, pdfBytes: 100 });
  const { api, logger } = createTestClient(sim);
  let mapped = 0;
  const secondDone = Promise.withResolvers<void>();
  const iterator = syncThreats({
    api,
    logger,
    map: (input) => {
      mapped++;
      if (mapped === 20) secondDone.resolve();
      return mapMalware(input);
    },
    savedState: undefined,
    importStartDate: START_DATE,
    importReportPdf: true,
    pdfMaxBytes: 1000,
    concurrency: 4,
  });

  const first = await iterator.next();
  assert.not.ok(first.done);
  assert.is(first.value?.mapped.length, 10);
  await secondDone.promise;
  // Give a third result every chance to start before counting.
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.is(sim.requestsTo("threat/search").length, 1);
  assert.is(sim.requestsTo("t3/malware/{id}/pdf").length, 20);
  assert.is(mapped, 20);

  await iterator.return?.();
  assert.is(sim.requestsTo("t3/malware/{id}/pdf").length, 20);
});

t("abort signal stops the run", async () => {
  const data = generateThreatData({ malware: 5, startMs: START_MS });
  const sim = start({ ...data, latencyMs: 0 });
  sim.injectFault({ kind: "timeout", match: { endpoint: "threat/search" } });
  const { api, logger } = createTestClient(sim, { timeoutMs: 60_000 });
  const controller = new AbortController();
  const iterator = syncThreats({
    api,
    logger,
    map: mapMalware,
    savedState: undefined,
    importStartDate: START_DATE,
    importReportPdf: false,
    pdfMaxBytes: 1,
    concurrency: 2,
    signal: controller.signal,
  });
  const pending = iterator.next();
  setTimeout(() => controller.abort(new Error("shutdown")), 30);
  const error = await rejectionOf(pending);
  assert.is((error as Error).message, "shutdown");
});

t("state dates use the Python format", () => {
  assert.is(
    formatStateDateTime(Date.UTC(2025, 0, 1, 0, 0, 0, 999)),
    "2025-01-01T00:00:00+00:00",
  );
});

t.run();
