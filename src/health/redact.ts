/**
 * Removes secrets from text that the health server returns. Each registered
 * secret is replaced in its raw, JSON-escaped and Prometheus-escaped forms.
 * The user-information part of any URL (`amqp://user:password@host`) is
 * replaced too, because it may carry a password that no setting declares,
 * such as the broker credentials that OpenCTI returns at registration.
 */
import { redactSecrets as redactText } from "../log/redact.ts";
import { escapeLabelValue } from "./prometheus_text.ts";

/** Replaces each secret and each URL's credentials with `***`. */
export function redactSecrets(
  text: string,
  secrets: readonly string[],
): string {
  return redactText(text, secrets, (secret) => [escapeLabelValue(secret)]);
}
