/**
 * Writes metric families in the Prometheus text exposition format, version
 * 0.0.4: a `# HELP` and a `# TYPE` line per family, then one sample a line,
 * `\n` line endings and a final newline.
 */
import type { MetricFamily, Sample } from "./metrics.ts";

/** The Content-Type of the text exposition format. */
export const PROMETHEUS_CONTENT_TYPE =
  "text/plain; version=0.0.4; charset=utf-8";

/** Escapes HELP text: backslash and line feed. */
export function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

/** Escapes a label value: backslash, double quote and line feed. */
export function escapeLabelValue(value: string): string {
  return value
    .replaceAll("\\", "\\\\")
    .replaceAll('"', '\\"')
    .replaceAll("\n", "\\n");
}

/** Formats a sample value; the format spells infinities `+Inf` and `-Inf`. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function formatSample(name: string, sample: Sample): string {
  const labels = sample.labels
    .map(([label, value]) => `${label}="${escapeLabelValue(value)}"`)
    .join(",");
  const selector = labels === "" ? "" : `{${labels}}`;
  return `${name}${sample.suffix}${selector} ${formatValue(sample.value)}`;
}

/** Writes the families in order; an empty list gives an empty text. */
export function formatPrometheusText(
  families: readonly MetricFamily[],
): string {
  const lines: string[] = [];
  for (const family of families) {
    lines.push(`# HELP ${family.name} ${escapeHelp(family.help)}`);
    lines.push(`# TYPE ${family.name} ${family.type}`);
    for (const sample of family.samples) {
      lines.push(formatSample(family.name, sample));
    }
  }
  return lines.length === 0 ? "" : lines.join("\n") + "\n";
}
