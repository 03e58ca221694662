/** The connector's version, sent in every User-Agent and printed by --version. */
export const VERSION = "0.1.0";

export const USER_AGENT = `threathq-connector/${VERSION}`;
