/** Log attribute helpers shared by the runtime modules. */
import type { LogAttributes } from "../log/logger.ts";

/**
 * Returns the attributes without the undefined ones, which plain-text log
 * lines would otherwise print as `key=undefined`.
 */
export function definedAttributes(attributes: LogAttributes): LogAttributes {
  return Object.fromEntries(
    Object.entries(attributes).filter(([, value]) => value !== undefined),
  );
}
