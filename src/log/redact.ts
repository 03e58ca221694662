/**
 * Replacement of secret values in text the connector writes: log lines,
 * health and metrics responses, and `check` output.
 */

/**
 * Secrets shorter than this are not replaced: a one- or two-letter value
 * (a test password such as `p`) would blank out every word that contains
 * the letter, and no real token or password is that short.
 */
export const MIN_REDACTED_LENGTH = 4;

/**
 * The user information of a URL (`scheme://user:password@host`), which may
 * carry a password that no setting declares, such as the broker
 * credentials OpenCTI returns at registration or a proxy login in a URL.
 */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"']+@/gi;

/**
 * Replaces the user information of every URL and every secret with `***`,
 * the secrets in their raw, JSON-escaped and URL-encoded forms and in any
 * extra forms `moreForms` gives (such as an escaping of the output format).
 * Longer forms go first, so a secret that contains another is replaced
 * whole.
 */
export function redactSecrets(
  text: string,
  secrets: readonly string[],
  moreForms: (secret: string) => string[] = () => [],
): string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < MIN_REDACTED_LENGTH) continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
    forms.add(encodeURIComponent(secret));
    for (const form of moreForms(secret)) forms.add(form);
  }

  let result = text.replace(URL_CREDENTIALS, "$1***@");
  for (const form of [...forms].sort((a, b) => b.length - a.length)) {
    result = result.replaceAll(form, "***");
  }
  return result;
}
