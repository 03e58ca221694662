/** Email-message observables from `subjectSet`, one per subject line. */
import { scoId } from "../stix/ids.ts";
import type { DraftCollection } from "./observable_draft.ts";
import { type ThreatContext, threatLabels } from "./threat_context.ts";

/**
 * Maps every subject line into `drafts`. A subject is kept exactly as given,
 * because its id hashes it unchanged, and carries the threat-level labels.
 */
export function mapSubjects(
  context: ThreatContext,
  drafts: DraftCollection,
): void {
  for (const entry of context.threat.subjectSet) {
    if (entry.subject.trim() === "") {
      context.problems.add(
        `subjectSet[${entry.position}].subject`,
        entry.subject,
        "empty subject line; skipped",
      );
      continue;
    }

    drafts.add({
      kind: "email-message",
      id: scoId("email-message", { subject: entry.subject }),
      subject: entry.subject,
      labels: threatLabels(context.threat),
      malwareRefs: new Set(),
    });
  }
}
