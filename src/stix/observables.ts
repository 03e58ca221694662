/**
 * Zod schemas for the STIX 2.1 cyber-observable objects the connector
 * emits, with the `x_opencti_*` properties OpenCTI reads on them.
 */
import { z } from "zod";
import {
  anyIdentifier,
  hashes,
  identifier,
  nonEmptyText,
  observableProperties,
  timestamp,
} from "./property_schemas.ts";

const OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])";
const IPV4_PATTERN = new RegExp(
  `^${OCTET}(?:\\.${OCTET}){3}(?:/(?:3[0-2]|[12]?[0-9]))?$`,
);

/** Whitespace and control characters (C0, DEL, C1), invalid in these values. */
const SPACE_OR_CONTROL = /[\s\p{Cc}]/u;

export const urlSchema = z.strictObject({
  ...observableProperties("url"),
  value: z.string().refine(
    (value) =>
      /^[A-Za-z][A-Za-z0-9+.-]*:./.test(value) && !SPACE_OR_CONTROL.test(value),
    { error: "expected an absolute URL with a scheme and no whitespace" },
  ),
});

export const domainNameSchema = z.strictObject({
  ...observableProperties("domain-name"),
  value: z.string().min(1).max(253).refine(
    (value) => !SPACE_OR_CONTROL.test(value) && !/[/\\@:?#]/.test(value),
    { error: "expected a domain name without whitespace, /, \\, @, :, ? or #" },
  ),
  resolves_to_refs: z.array(
    identifier("ipv4-addr", "ipv6-addr", "domain-name"),
  ).optional(),
});

export const ipv4AddrSchema = z.strictObject({
  ...observableProperties("ipv4-addr"),
  value: z.string().regex(IPV4_PATTERN, {
    error: "expected a dotted-quad IPv4 address or CIDR block, no leading 0s",
  }),
  resolves_to_refs: z.array(identifier("mac-addr")).optional(),
  belongs_to_refs: z.array(identifier("autonomous-system")).optional(),
});

export const emailAddrSchema = z.strictObject({
  ...observableProperties("email-addr"),
  value: z.string().regex(/^[^\s@]+@[^\s@]+$/, {
    error: "expected an email address local-part@domain",
  }),
  display_name: z.string().optional(),
  belongs_to_ref: identifier("user-account").optional(),
});

const mimePartType = z.strictObject({
  body: z.string().optional(),
  body_raw_ref: identifier("artifact", "file").optional(),
  content_type: z.string().optional(),
  content_disposition: z.string().optional(),
});

/**
 * An email message. `body` is only for a message that is not multipart,
 * `body_multipart` only for one that is.
 */
export const emailMessageSchema = z.strictObject({
  ...observableProperties("email-message"),
  is_multipart: z.boolean(),
  date: timestamp.optional(),
  content_type: z.string().optional(),
  from_ref: identifier("email-addr").optional(),
  sender_ref: identifier("email-addr").optional(),
  to_refs: z.array(identifier("email-addr")).optional(),
  cc_refs: z.array(identifier("email-addr")).optional(),
  bcc_refs: z.array(identifier("email-addr")).optional(),
  message_id: z.string().optional(),
  subject: z.string().optional(),
  received_lines: z.array(z.string()).optional(),
  additional_header_fields: z.record(z.string(), z.unknown()).optional(),
  body: z.string().optional(),
  body_multipart: z.array(mimePartType).optional(),
  raw_email_ref: identifier("artifact").optional(),
}).superRefine((message, context) => {
  if (message.is_multipart && message.body !== undefined) {
    context.addIssue({
      code: "custom",
      path: ["body"],
      message: "a multipart message carries body_multipart, not body",
    });
  }

  if (!message.is_multipart && message.body_multipart !== undefined) {
    context.addIssue({
      code: "custom",
      path: ["body_multipart"],
      message: "body_multipart needs is_multipart true",
    });
  }
});

/** A file. STIX 2.1 requires `hashes` or `name`. */
export const fileSchema = z.strictObject({
  ...observableProperties("file"),
  hashes: hashes.optional(),
  size: z.number().int().min(0).optional(),
  name: nonEmptyText.optional(),
  name_enc: z.string().optional(),
  magic_number_hex: z.string().regex(/^([0-9a-fA-F]{2})+$/).optional(),
  mime_type: z.string().optional(),
  ctime: timestamp.optional(),
  mtime: timestamp.optional(),
  atime: timestamp.optional(),
  parent_directory_ref: identifier("directory").optional(),
  contains_refs: z.array(anyIdentifier).optional(),
  content_ref: identifier("artifact").optional(),
  x_opencti_additional_names: z.array(nonEmptyText).optional(),
}).refine((file) => file.hashes !== undefined || file.name !== undefined, {
  error: "a file needs hashes or a name",
  path: ["hashes"],
});

export const autonomousSystemSchema = z.strictObject({
  ...observableProperties("autonomous-system"),
  number: z.number().int().min(0).max(4294967295),
  name: z.string().optional(),
  rir: z.string().optional(),
});

export type Url = z.infer<typeof urlSchema>;
export type DomainName = z.infer<typeof domainNameSchema>;
export type Ipv4Addr = z.infer<typeof ipv4AddrSchema>;
export type EmailAddr = z.infer<typeof emailAddrSchema>;
export type EmailMessage = z.infer<typeof emailMessageSchema>;
export type File = z.infer<typeof fileSchema>;
export type AutonomousSystem = z.infer<typeof autonomousSystemSchema>;
