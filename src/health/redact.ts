/**
 * Removes secrets from text that the health server returns. Each registered
 * secret is replaced in its raw, JSON-escaped and Prometheus-escaped forms.
 * The user-information part of any URL (`amqp://user:password@host`) is
 * replaced too, because it may carry a password that no setting declares,
 * such as the broker credentials that OpenCTI returns at registration.
 */
import { redactSecrets as redactText } from "../log/redact.ts";
import { escapeLabelValue } from "./prometheus_text.ts";

const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)[^\s/?#@"]+@/gi;

/** Replaces each secret and each URL's credentials with `***`. */
export function redactSecrets(
  text: string,
  secrets: readonly string[],
): string {
  const withoutCredentials = text.replace(URL_CREDENTIALS, "$1***@");
  return redactText(
    withoutCredentials,
    secrets,
    (secret) => [escapeLabelValue(secret)],
  );
}
