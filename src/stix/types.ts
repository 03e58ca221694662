/**
 * The STIX 2.1 objects the connector emits, as TypeScript types and zod
 * schemas: every schema rejects unknown properties, so a misspelled OpenCTI
 * property fails validation instead of being dropped by the platform.
 */
import { z } from "zod";
import {
  identitySchema,
  indicatorSchema,
  locationSchema,
  malwareSchema,
  markingDefinitionSchema,
  relationshipSchema,
  reportSchema,
  vulnerabilitySchema,
} from "./domain_objects.ts";
import {
  autonomousSystemSchema,
  domainNameSchema,
  emailAddrSchema,
  emailMessageSchema,
  fileSchema,
  ipv4AddrSchema,
  urlSchema,
} from "./observables.ts";
import {
  type externalReference,
  identifier,
  type killChainPhase,
  type openctiFile,
} from "./property_schemas.ts";

export {
  identitySchema,
  indicatorSchema,
  LOCATION_TYPES,
  locationSchema,
  malwareSchema,
  markingDefinitionSchema,
  relationshipSchema,
  reportSchema,
  vulnerabilitySchema,
} from "./domain_objects.ts";
export type {
  Identity,
  Indicator,
  Location,
  Malware,
  MarkingDefinition,
  Relationship,
  Report,
  Vulnerability,
} from "./domain_objects.ts";
export {
  autonomousSystemSchema,
  domainNameSchema,
  emailAddrSchema,
  emailMessageSchema,
  fileSchema,
  ipv4AddrSchema,
  urlSchema,
} from "./observables.ts";
export type {
  AutonomousSystem,
  DomainName,
  EmailAddr,
  EmailMessage,
  File,
  Ipv4Addr,
  Url,
} from "./observables.ts";
export {
  externalReference as externalReferenceSchema,
  killChainPhase as killChainPhaseSchema,
  openctiFile as openctiFileSchema,
} from "./property_schemas.ts";

export type ExternalReference = z.infer<typeof externalReference>;
export type OpenctiFile = z.infer<typeof openctiFile>;
export type KillChainPhase = z.infer<typeof killChainPhase>;

/** Any object the connector emits, discriminated by `type`. */
export const stixObjectSchema = z.discriminatedUnion("type", [
  identitySchema,
  markingDefinitionSchema,
  reportSchema,
  indicatorSchema,
  malwareSchema,
  relationshipSchema,
  locationSchema,
  vulnerabilitySchema,
  urlSchema,
  domainNameSchema,
  ipv4AddrSchema,
  emailAddrSchema,
  emailMessageSchema,
  fileSchema,
  autonomousSystemSchema,
]);
export type StixObject = z.infer<typeof stixObjectSchema>;

/**
 * A STIX bundle. STIX 2.1 bundles have no `spec_version`, but pycti writes
 * `"2.1"` there and OpenCTI's splitter adds `x_opencti_seq`, so both are
 * accepted.
 */
export const bundleSchema = z.strictObject({
  type: z.literal("bundle"),
  id: identifier("bundle"),
  spec_version: z.literal("2.1").optional(),
  objects: z.array(stixObjectSchema),
  x_opencti_seq: z.number().int().optional(),
  x_opencti_event_version: z.string().optional(),
}).superRefine((bundle, context) => {
  // The connector sends one version of each object, so a repeated id is a
  // mapping error even though STIX allows several versions in a bundle.
  const seen = new Map<string, number>();

  bundle.objects.forEach((object, index) => {
    const first = seen.get(object.id);
    if (first === undefined) {
      seen.set(object.id, index);
      return;
    }
    context.addIssue({
      code: "custom",
      path: ["objects", index, "id"],
      message: `duplicate id ${object.id}, first at objects[${first}]`,
    });
  });
});
export type Bundle = z.infer<typeof bundleSchema>;
