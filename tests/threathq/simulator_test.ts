import { suite } from "uvu";
import * as assert from "uvu/assert";
import {
  loadFixtureThreats,
  loadSharedSampleThreats,
} from "../support/threathq_fixtures.ts";
import { startThreatHqSimulator } from "../support/threathq_simulator.ts";
import { generateThreatData } from "../support/threat_generator.ts";
import { createTestClient, rejectionOf } from "../support/threathq_harness.ts";
import { ThreatHqAuthError } from "../../src/threathq/errors.ts";

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

t.run();
