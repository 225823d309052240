/** Vocabularies (d2l's Vocab): reserved tokens first, then tokens by frequency; unknown words map to <unk>. */
export const PAD = '<pad>';
export const BOS = '<bos>';
export const EOS = '<eos>';
export const UNK = '<unk>';
const RESERVED = [PAD, BOS, EOS, UNK] as const;

export class Vocab {
  readonly tokens: readonly string[];
  readonly #index: Map<string, number>;
  constructor(tokens: readonly string[]) {
    if (RESERVED.some((t, i) => tokens[i] !== t)) throw new Error(`a vocabulary starts with ${RESERVED.join(', ')}`);
    this.tokens = tokens;
    this.#index = new Map(tokens.map((t, i) => [t, i]));
  }
  /** From tokenized sentences: tokens seen at least `minFreq` times, most frequent first, ties alphabetical (deterministic). */
  static build(sentences: readonly (readonly string[])[], minFreq = 1): Vocab {
    const counts = new Map<string, number>();
    for (const s of sentences) for (const t of s) counts.set(t, (counts.get(t) ?? 0) + 1);
    const kept = [...counts].filter(([t, c]) => c >= minFreq && !(RESERVED as readonly string[]).includes(t)).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    return new Vocab([...RESERVED, ...kept.map(([t]) => t)]);
  }
  get size(): number {
    return this.tokens.length;
  }
  get pad(): number { return 0; }
  get bos(): number { return 1; }
  get eos(): number { return 2; }
  get unk(): number { return 3; }
  /** Token ids; a word not in the vocabulary is <unk>. */
  encode(tokens: readonly string[]): number[] {
    return tokens.map((t) => this.#index.get(t) ?? this.unk);
  }
  /** The tokens of ids up to the first <eos>, without <pad> and <bos>. */
  decode(ids: readonly number[]): string[] {
    const out: string[] = [];
    for (const id of ids) {
      if (id === this.eos) break;
      if (id === this.pad || id === this.bos) continue;
      out.push(this.tokens[id] ?? UNK);
    }
    return out;
  }
  /** The words of `tokens` this vocabulary does not know. */
  unknown(tokens: readonly string[]): string[] {
    return tokens.filter((t) => !this.#index.has(t));
  }
}

/** Pads with <pad> or truncates to exactly `numSteps` (d2l's truncate_pad). */
export function truncatePad(ids: readonly number[], numSteps: number, pad: number): number[] {
  return ids.length > numSteps ? ids.slice(0, numSteps) : [...ids, ...Array<number>(numSteps - ids.length).fill(pad)];
}
