/**
 * Splits a NAICS label into sector names: on commas and on " and " outside
 * parentheses, so "Oil, Gas and Mining" gives three sectors while
 * "Mining (except Oil and Gas)" stays whole.
 */
export function splitSectorNames(label: string): string[] {
  const names: string[] = [];
  let depth = 0;
  let start = 0;
  let index = 0;

  const cut = (end: number, next: number) => {
    names.push(label.slice(start, end));
    start = next;
    index = next;
  };

  while (index < label.length) {
    const char = label[index];
    if (char === "(") depth += 1;
    if (char === ")") depth = Math.max(0, depth - 1);

    if (depth === 0 && char === ",") {
      cut(index, index + 1);
    } else if (depth === 0 && label.startsWith(" and ", index)) {
      cut(index, index + " and ".length);
    } else {
      index += 1;
    }
  }
  names.push(label.slice(start));

  return names.map((name) => name.trim()).filter((name) => name !== "");
}
