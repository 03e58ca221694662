/** Label lists that keep the first spelling of each label, ignoring case. */

/** An ordered set of labels, deduplicated without regard to case. */
export class LabelSet {
  readonly #labels = new Map<string, string>();

  constructor(labels: Iterable<string | undefined> = []) {
    this.addAll(labels);
  }

  /** Adds a label, trimmed; blank labels and repeats are ignored. */
  add(label: string | undefined): void {
    const text = label?.trim() ?? "";
    if (text === "") return;

    const key = text.toLowerCase();
    if (!this.#labels.has(key)) this.#labels.set(key, text);
  }

  addAll(labels: Iterable<string | undefined>): void {
    for (const label of labels) this.add(label);
  }

  get size(): number {
    return this.#labels.size;
  }

  toArray(): string[] {
    return [...this.#labels.values()];
  }
}
