import { arange, constant, F, Module, type Tensor } from '@tessera/graph-dsl';
import { ConfigError } from '../config.ts';

/** The longest sequence the default table covers (the article: at least 1000). */
export const DEFAULT_MAX_LEN = 1000;

/**
 * The sinusoidal table of "Attention Is All You Need", (maxLen, d):
 * P[i, 2j] = sin(i / 10000^(2j/d)), P[i, 2j+1] = cos(i / 10000^(2j/d)).
 */
export function sinusoidTable(maxLen: number, d: number): Float32Array {
  const table = new Float32Array(maxLen * d);
  for (let i = 0; i < maxLen; i++) {
    for (let j = 0; 2 * j < d; j++) {
      const angle = i / 10000 ** ((2 * j) / d);
      table[i * d + 2 * j] = Math.sin(angle);
      if (2 * j + 1 < d) table[i * d + 2 * j + 1] = Math.cos(angle);
    }
  }
  return table;
}

/**
 * Adds the sinusoidal positional encoding to (B, T, d) inputs, then dropout. The table is a
 * constant computed when the model is traced (no parameters), so the compiler folds the rows
 * it needs; `forwardAt` adds the row of one decoding step given as an int32 (1,) position.
 */
export class PositionalEncoding extends Module {
  readonly #table: readonly number[];
  constructor(readonly numHiddens: number, readonly dropout = 0, readonly maxLen = DEFAULT_MAX_LEN) {
    super();
    if (numHiddens % 2 !== 0) throw new ConfigError(`PositionalEncoding: num_hiddens (${numHiddens}) must be even (sin and cos pairs)`);
    this.#table = Array.from(sinusoidTable(maxLen, numHiddens));
  }
  /** X (B, T, d): T must be at most maxLen (checked when T is known). */
  forward(X: Tensor<'float32', 3>): Tensor<'float32', 3> {
    const T = X.size(1);
    if (typeof T === 'number' && T > this.maxLen) throw new ConfigError(`PositionalEncoding: a sequence of ${T} steps is longer than max_len ${this.maxLen}`);
    const rows = this.table(X).gather(0, arange(X, T) as Tensor<'int32', 1>) as Tensor<'float32', 2>; // P[:T]
    return F.dropout(X.add(rows), this.dropout);
  }
  /** One step: X (B, 1, d) at `position` (int32 (1,)). */
  forwardAt(X: Tensor<'float32', 3>, position: Tensor<'int32', 1>): Tensor<'float32', 3> {
    const row = this.table(X).gather(0, position) as Tensor<'float32', 2>; // (1, d)
    return F.dropout(X.add(row), this.dropout);
  }
  private table(anchor: Tensor): Tensor<'float32', 2> {
    return constant(anchor, this.#table, 'float32', [this.maxLen, this.numHiddens]) as Tensor<'float32', 2>;
  }
}
