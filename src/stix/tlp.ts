/**
 * TLP marking definitions written as OpenCTI imports them. The ids are fixed
 * by the STIX 2.1 specification (white, green, amber, red) and by OpenCTI
 * (clear shares white's id, amber+strict has its own).
 */
import type { TlpLevel } from "../config/settings.ts";
import { TLP_DEFINITION_IDS } from "./ids.ts";
import type { MarkingDefinition } from "./types.ts";

export const TLP_MARKING_IDS: Readonly<Record<TlpLevel, string>> = {
  "clear": TLP_DEFINITION_IDS["TLP:CLEAR"],
  "white": TLP_DEFINITION_IDS["TLP:WHITE"],
  "green": TLP_DEFINITION_IDS["TLP:GREEN"],
  "amber": TLP_DEFINITION_IDS["TLP:AMBER"],
  "amber+strict": TLP_DEFINITION_IDS["TLP:AMBER+STRICT"],
  "red": TLP_DEFINITION_IDS["TLP:RED"],
};

/** The `created` of the four STIX 2.1 TLP marking definitions. */
const STIX_TLP_CREATED = "2017-01-20T00:00:00.000Z";

/**
 * Builds the marking definition for a TLP level.
 *
 * Green, amber and red are the STIX 2.1 constants. Clear and white both
 * become STIX TLP:WHITE named TLP:CLEAR, because TLP 2.0 renamed the level
 * and pycti's import (6.x) renames TLP:WHITE to TLP:CLEAR. TLP 2.0's
 * amber+strict has no STIX constant, so it is a statement marking whose
 * `x_opencti_definition_type` and `x_opencti_definition` OpenCTI reads in
 * place of the STIX ones.
 */
export function tlpMarking(level: TlpLevel): MarkingDefinition {
  const base = {
    type: "marking-definition" as const,
    spec_version: "2.1" as const,
    id: TLP_MARKING_IDS[level],
    // Amber+strict has no published `created`, so it reuses this fixed one
    // to keep bundles reproducible.
    created: STIX_TLP_CREATED,
  };

  switch (level) {
    case "clear":
    case "white":
      return {
        ...base,
        name: "TLP:CLEAR",
        definition_type: "tlp",
        definition: { tlp: "white" },
        x_opencti_definition_type: "TLP",
        x_opencti_definition: "TLP:CLEAR",
      };
    case "amber+strict":
      return {
        ...base,
        name: "TLP:AMBER+STRICT",
        definition_type: "statement",
        definition: { statement: "custom" },
        x_opencti_definition_type: "TLP",
        x_opencti_definition: "TLP:AMBER+STRICT",
      };
    default:
      return {
        ...base,
        name: `TLP:${level.toUpperCase()}`,
        definition_type: "tlp",
        definition: { tlp: level },
      };
  }
}
