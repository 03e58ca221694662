/**
 * Zod schemas for the STIX 2.1 domain objects, relationship and marking
 * definition the connector emits, with the OpenCTI custom properties its
 * import reads.
 */
import { z } from "zod";
import { TLP_DEFINITION_IDS } from "./ids.ts";
import {
  anyIdentifier,
  checkOrder,
  domainObjectProperties,
  externalReference,
  identifier,
  killChainPhase,
  nonEmptyText,
  percentage,
  timestamp,
} from "./property_schemas.ts";

type Timestamped = { created: string; modified: string };

function checkModified(value: Timestamped, context: z.RefinementCtx): void {
  checkOrder(context, value.created, value.modified, "modified");
}

export const identitySchema = z.strictObject({
  ...domainObjectProperties("identity"),
  name: nonEmptyText,
  description: z.string().optional(),
  roles: z.array(nonEmptyText).optional(),
  identity_class: nonEmptyText.optional(),
  sectors: z.array(nonEmptyText).optional(),
  contact_information: z.string().optional(),
  x_opencti_aliases: z.array(nonEmptyText).optional(),
  x_opencti_organization_type: z.string().optional(),
  x_opencti_reliability: z.string().optional(),
}).superRefine(checkModified);

const STIX_TLP_LEVELS = ["white", "green", "amber", "red"] as const;

/**
 * A marking definition. A marking has no `modified`, and `definition_type`
 * `tlp` or `statement` fixes the shape of `definition`. OpenCTI reads
 * `x_opencti_definition_type` and `x_opencti_definition` first when present.
 */
export const markingDefinitionSchema = z.strictObject({
  type: z.literal("marking-definition"),
  spec_version: z.literal("2.1"),
  id: identifier("marking-definition"),
  created: timestamp,
  created_by_ref: identifier("identity").optional(),
  external_references: z.array(externalReference).optional(),
  object_marking_refs: z.array(identifier("marking-definition")).optional(),
  name: nonEmptyText.optional(),
  definition_type: nonEmptyText,
  definition: z.record(z.string(), z.unknown()),
  extensions: z.record(z.string(), z.unknown()).optional(),
  x_opencti_definition_type: nonEmptyText.optional(),
  x_opencti_definition: nonEmptyText.optional(),
  x_opencti_color: z.string().optional(),
  x_opencti_order: z.number().int().optional(),
  x_opencti_id: z.string().optional(),
  x_opencti_stix_ids: z.array(anyIdentifier).optional(),
  nb_deps: z.number().optional(),
}).superRefine((marking, context) => {
  if (marking.definition_type === "statement") {
    const statement = z.strictObject({ statement: nonEmptyText });
    if (!statement.safeParse(marking.definition).success) {
      context.addIssue({
        code: "custom",
        path: ["definition"],
        message: 'a statement marking needs definition {"statement": <text>}',
      });
    }
  }

  if (marking.definition_type !== "tlp") return;

  const tlp = z.strictObject({ tlp: z.enum(STIX_TLP_LEVELS) })
    .safeParse(marking.definition);
  if (!tlp.success) {
    context.addIssue({
      code: "custom",
      path: ["definition"],
      message:
        'a tlp marking needs definition {"tlp": "white"|"green"|"amber"|"red"}',
    });
    return;
  }

  const expectedId = TLP_DEFINITION_IDS[`TLP:${tlp.data.tlp.toUpperCase()}`];
  if (marking.id !== expectedId) {
    context.addIssue({
      code: "custom",
      path: ["id"],
      message: `TLP:${tlp.data.tlp.toUpperCase()} must have id ${expectedId}`,
    });
  }
});

export const reportSchema = z.strictObject({
  ...domainObjectProperties("report"),
  name: nonEmptyText,
  description: z.string().optional(),
  report_types: z.array(nonEmptyText).optional(),
  published: timestamp,
  object_refs: z.array(anyIdentifier).min(1, {
    error: "a report needs at least one object_refs entry",
  }),
  x_opencti_report_status: z.number().int().optional(),
  x_opencti_reliability: z.string().optional(),
}).superRefine(checkModified);

export const indicatorSchema = z.strictObject({
  ...domainObjectProperties("indicator"),
  name: nonEmptyText.optional(),
  description: z.string().optional(),
  indicator_types: z.array(nonEmptyText).optional(),
  pattern: nonEmptyText,
  pattern_type: nonEmptyText,
  pattern_version: z.string().optional(),
  valid_from: timestamp,
  valid_until: timestamp.optional(),
  kill_chain_phases: z.array(killChainPhase).optional(),
  x_opencti_main_observable_type: nonEmptyText.optional(),
  x_opencti_score: percentage.optional(),
  x_opencti_detection: z.boolean().optional(),
  x_opencti_create_observables: z.boolean().optional(),
}).superRefine((indicator, context) => {
  checkModified(indicator, context);

  checkOrder(
    context,
    indicator.valid_from,
    indicator.valid_until,
    "valid_until",
    true,
  );
});

export const malwareSchema = z.strictObject({
  ...domainObjectProperties("malware"),
  name: nonEmptyText,
  description: z.string().optional(),
  malware_types: z.array(nonEmptyText).optional(),
  is_family: z.boolean(),
  aliases: z.array(nonEmptyText).optional(),
  kill_chain_phases: z.array(killChainPhase).optional(),
  first_seen: timestamp.optional(),
  last_seen: timestamp.optional(),
  architecture_execution_envs: z.array(nonEmptyText).optional(),
  implementation_languages: z.array(nonEmptyText).optional(),
  capabilities: z.array(nonEmptyText).optional(),
  sample_refs: z.array(identifier("file", "artifact")).optional(),
}).superRefine((malware, context) => {
  checkModified(malware, context);
  checkOrder(context, malware.first_seen, malware.last_seen, "last_seen");
});

/** A lower-case word or hyphenated words, such as `indicates`, `based-on`. */
const relationshipType = z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, {
  error: "expected a lower-case hyphenated relationship_type like based-on",
});

export const relationshipSchema = z.strictObject({
  ...domainObjectProperties("relationship"),
  relationship_type: relationshipType,
  description: z.string().optional(),
  source_ref: anyIdentifier,
  target_ref: anyIdentifier,
  start_time: timestamp.optional(),
  stop_time: timestamp.optional(),
  x_opencti_score: percentage.optional(),
}).superRefine((relationship, context) => {
  checkModified(relationship, context);

  checkOrder(
    context,
    relationship.start_time,
    relationship.stop_time,
    "stop_time",
    true,
  );
});

export const LOCATION_TYPES = [
  "Region",
  "Country",
  "Administrative-Area",
  "City",
  "Position",
] as const;

/**
 * A location. STIX 2.1 requires a `region`, a `country`, or both
 * `latitude` and `longitude`.
 */
export const locationSchema = z.strictObject({
  ...domainObjectProperties("location"),
  name: nonEmptyText.optional(),
  description: z.string().optional(),
  latitude: z.number().min(-90).max(90).optional(),
  longitude: z.number().min(-180).max(180).optional(),
  precision: z.number().min(0).optional(),
  region: nonEmptyText.optional(),
  country: nonEmptyText.optional(),
  administrative_area: nonEmptyText.optional(),
  city: nonEmptyText.optional(),
  street_address: nonEmptyText.optional(),
  postal_code: nonEmptyText.optional(),
  x_opencti_location_type: z.enum(LOCATION_TYPES).optional(),
  x_opencti_aliases: z.array(nonEmptyText).optional(),
}).superRefine((location, context) => {
  checkModified(location, context);

  const hasLatitude = location.latitude !== undefined;
  const hasLongitude = location.longitude !== undefined;
  if (hasLatitude !== hasLongitude) {
    context.addIssue({
      code: "custom",
      path: [hasLatitude ? "longitude" : "latitude"],
      message: "latitude and longitude must be given together",
    });
  }

  if (location.precision !== undefined && !hasLatitude) {
    context.addIssue({
      code: "custom",
      path: ["precision"],
      message: "precision needs latitude and longitude",
    });
  }

  const placed = location.region !== undefined ||
    location.country !== undefined || (hasLatitude && hasLongitude);
  if (!placed) {
    context.addIssue({
      code: "custom",
      path: ["country"],
      message: "a location needs region, country, or latitude and longitude",
    });
  }
});

export const vulnerabilitySchema = z.strictObject({
  ...domainObjectProperties("vulnerability"),
  name: nonEmptyText,
  description: z.string().optional(),
  x_opencti_cvss_base_score: z.number().min(0).max(10).optional(),
  x_opencti_cvss_base_severity: z.string().optional(),
  x_opencti_cvss_attack_vector: z.string().optional(),
  x_opencti_cisa_kev: z.boolean().optional(),
  x_opencti_epss_score: z.number().min(0).max(1).optional(),
}).superRefine(checkModified);

export type Identity = z.infer<typeof identitySchema>;
export type MarkingDefinition = z.infer<typeof markingDefinitionSchema>;
export type Report = z.infer<typeof reportSchema>;
export type Indicator = z.infer<typeof indicatorSchema>;
export type Malware = z.infer<typeof malwareSchema>;
export type Relationship = z.infer<typeof relationshipSchema>;
export type Location = z.infer<typeof locationSchema>;
export type Vulnerability = z.infer<typeof vulnerabilitySchema>;
