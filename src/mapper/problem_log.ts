/** Collects the problems found while mapping one threat. */
import type { SchemaIssue } from "../threathq/threat_schema.ts";
import type { MappingProblem } from "./mapping_types.ts";

export class ProblemLog {
  readonly problems: MappingProblem[] = [];

  constructor(readonly threatId: string) {}

  add(field: string, value: unknown, reason: string): void {
    this.problems.push({ threatId: this.threatId, field, value, reason });
  }

  addIssues(issues: readonly SchemaIssue[]): void {
    for (const issue of issues) {
      this.add(issue.field, issue.value, issue.reason);
    }
  }
}
