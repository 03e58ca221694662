/**
 * Checks that a vendor value fits its observable type before it becomes an
 * observable. Values that pass are used as given (after trimming), because
 * STIX ids hash the value without normalizing it.
 *
 * Each check returns undefined for a valid value, or the reason it is not.
 */

/** A decimal octet 0-255 without leading zeros, which STIX rejects. */
const IPV4_OCTET = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";

/** Dotted decimal with four octets, optionally with a CIDR prefix length. */
const IPV4_PATTERN = new RegExp(
  `^${IPV4_OCTET}(\\.${IPV4_OCTET}){3}(/(3[0-2]|[12]?\\d))?$`,
);

/** One DNS label: letters (any script), digits, `-` and `_`, 1 to 63 long. */
const DOMAIN_LABEL_PATTERN = /^[\p{L}\p{N}\p{M}_-]{1,63}$/u;

/** Whitespace and control characters, which no network value may contain. */
const BLANK_OR_CONTROL_PATTERN = /[\s\p{Cc}]/u;

export function ipv4Problem(value: string): string | undefined {
  if (IPV4_PATTERN.test(value)) return undefined;
  return "not an IPv4 address: expected four dot-separated numbers 0-255 without leading zeros";
}

export function domainProblem(value: string): string | undefined {
  if (value === "") return "empty domain name";
  if (value.startsWith("*")) return "a wildcard pattern, not a domain name";

  const name = value.endsWith(".") ? value.slice(0, -1) : value;
  if (name.length > 253) return "longer than 253 characters";

  const labels = name.split(".");
  if (labels.every((label) => DOMAIN_LABEL_PATTERN.test(label))) {
    return undefined;
  }
  return "not a domain name: expected dot-separated labels of letters, digits, '-' or '_'";
}

export function emailProblem(value: string): string | undefined {
  const at = value.indexOf("@");
  if (at < 0) return "not an email address: no '@'";
  if (value.indexOf("@", at + 1) >= 0) {
    return "not an email address: more than one '@'";
  }
  if (at === 0) return "not an email address: nothing before '@'";
  if (BLANK_OR_CONTROL_PATTERN.test(value)) {
    return "not an email address: contains blanks or control characters";
  }

  const domain = domainProblem(value.slice(at + 1));
  return domain === undefined
    ? undefined
    : `not an email address: the part after '@' is ${domain}`;
}

/** An absolute URL starts with a scheme, such as `http:` or `hxxp:`. */
const URL_SCHEME_PATTERN = /^[A-Za-z][A-Za-z0-9+.-]*:./;

export function urlProblem(value: string): string | undefined {
  if (value === "") return "empty URL";
  if (BLANK_OR_CONTROL_PATTERN.test(value)) {
    return "not a URL: contains blanks or control characters";
  }
  if (!URL_SCHEME_PATTERN.test(value)) {
    return "not an absolute URL: no scheme such as http://";
  }
  return undefined;
}
