/**
 * The rule that ThreatHQ's and Cofense's own links and domains never become
 * observables: every report links to the portal, so such an observable would
 * connect every report to every other in OpenCTI.
 */

/** Domains of the ThreatHQ portal and of Cofense, with all subdomains. */
export const PORTAL_DOMAINS: readonly string[] = [
  "threathq.com",
  "cofense.com",
];

function normalizeHost(host: string): string {
  return host.trim().toLowerCase().replace(/\.+$/, "");
}

/** Returns whether `host` is a portal domain or one of its subdomains. */
export function isPortalHost(host: string): boolean {
  const name = normalizeHost(host);
  return PORTAL_DOMAINS.some((domain) =>
    name === domain || name.endsWith(`.${domain}`)
  );
}

/**
 * Extracts the host of a URL, also when the scheme is missing
 * (`www.threathq.com/p42`) or the URL is otherwise unparsable.
 */
export function urlHost(url: string): string | undefined {
  const text = url.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text)
    ? text
    : `http://${text}`;
  if (URL.canParse(withScheme)) return new URL(withScheme).hostname;

  const authority = withScheme.replace(/^[^:]*:\/\//, "").split(/[/?#]/)[0];
  const host = authority.replace(/^.*@/, "").replace(/:\d*$/, "");
  return host === "" ? undefined : host;
}

/** Returns whether a URL points to the ThreatHQ portal or to Cofense. */
export function isPortalUrl(url: string): boolean {
  const host = urlHost(url);
  return host !== undefined && isPortalHost(host);
}

/** Returns whether an email address belongs to a portal domain. */
export function isPortalEmail(address: string): boolean {
  const at = address.lastIndexOf("@");
  return at >= 0 && isPortalHost(address.slice(at + 1));
}
