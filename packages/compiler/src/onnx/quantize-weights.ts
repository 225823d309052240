/** Symmetric int8 quantization of a matmul's constant right operand, one scale per output column. */

/** A (K, N) weight as int8 with one scale per column: w[k, n] ~= data[k, n] * scale[n]. */
export interface QuantizedWeight {
  readonly rows: number;
  readonly cols: number;
  readonly data: Int8Array;
  readonly scale: Float32Array;
}

/**
 * Quantizes `w` to int8 by column, symmetric (zero point 0) over [-127, 127] as PyTorch's per-channel
 * weight observer does: -128 is left out so that x * -128 cannot overflow the u8 x s8 pair sums of
 * VNNI. `transposed` reads `w` as (N, K) (PyTorch's Linear layout) and still returns (K, N). A zero
 * column gets scale 1 (every value 0).
 */
export function quantizePerColumn(w: ArrayLike<number>, rows: number, cols: number, transposed = false): QuantizedWeight {
  if (w.length !== rows * cols) throw new Error(`quantizePerColumn: ${w.length} values for a ${rows} x ${cols} weight`);
  const at = transposed ? (k: number, n: number) => w[n * rows + k]! : (k: number, n: number) => w[k * cols + n]!;
  const scale = new Float32Array(cols);
  for (let n = 0; n < cols; n++) {
    let max = 0;
    for (let k = 0; k < rows; k++) max = Math.max(max, Math.abs(at(k, n)));
    scale[n] = max > 0 ? max / 127 : 1;
  }
  const data = new Int8Array(rows * cols);
  for (let k = 0; k < rows; k++) {
    for (let n = 0; n < cols; n++) data[k * cols + n] = Math.max(-127, Math.min(127, Math.round(at(k, n) / scale[n]!)));
  }
  return { rows, cols, data, scale };
}
