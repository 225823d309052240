/**
 * Swin's data movement as two ops: a (B, H, W, C) map cyclically shifted and cut into M0 x M1
 * windows of tokens, and back. Each is one permutation of the H*W positions, so a target may
 * move the data as one gather or as the roll, reshape and transpose the paper's code writes.
 */
import { type Dim, dimToString, mulDims, shapeToString } from '../dim.ts';
import { defineOp, expectRank, ShapeError, type TensorType } from './op.ts';

export interface WindowAttrs {
  /** (M0, M1) */
  readonly window: readonly [number, number];
  /** The map is rolled by (-shift) before the partition, and by (+shift) after the reverse (torch.roll). */
  readonly shift: readonly [number, number];
}

function windowsOf(h: Dim, w: Dim, { window: [m0, m1], shift }: WindowAttrs): number {
  if (typeof h !== 'number' || typeof w !== 'number') throw new ShapeError(`the map size ${dimToString(h)} x ${dimToString(w)} must be concrete`);
  if (!(m0 > 0 && m1 > 0 && h % m0 === 0 && w % m1 === 0)) throw new ShapeError(`the map ${h} x ${w} does not divide into ${m0} x ${m1} windows`);
  if (!shift.every((s) => Number.isInteger(s))) throw new ShapeError(`shift [${shift.join(', ')}] must be whole numbers`);
  return (h / m0) * (w / m1);
}

/** (B, H, W, C) -> (B*nW, M0*M1, C), windows in row-major order, tokens row-major in each. */
export const WindowPartition = defineOp<WindowAttrs>({
  name: 'WindowPartition',
  inputs: [{ name: 'x', dtypes: ['float32'] }],
  infer: ([x], attrs) => {
    expectRank(x!, 'x (B, H, W, C)', [4]);
    const [b, h, w, c] = x!.shape as [Dim, Dim, Dim, Dim];
    const n = windowsOf(h, w, attrs);
    return [{ dtype: x!.dtype, shape: [mulDims(b, n), attrs.window[0] * attrs.window[1], c] }];
  },
});

/** (B*nW, M0*M1, C) -> (B, H, W, C): the inverse of WindowPartition with the same window and shift. */
export const WindowReverse = defineOp<WindowAttrs & { readonly size: readonly [number, number] }>({
  name: 'WindowReverse',
  inputs: [{ name: 'windows', dtypes: ['float32'] }],
  infer: ([y], attrs) => {
    expectRank(y!, 'windows (B*nW, M0*M1, C)', [3]);
    const [h, w] = attrs.size;
    const n = windowsOf(h, w, attrs);
    const [bn, tokens, c] = y!.shape as [Dim, Dim, Dim];
    if (tokens !== attrs.window[0] * attrs.window[1]) throw new ShapeError(`windows ${shapeToString(y!.shape)} must hold ${attrs.window[0]} x ${attrs.window[1]} tokens each`);
    const b = mulDims(bn, 1 / n);
    if (typeof b === 'number' && !Number.isInteger(b)) throw new ShapeError(`${dimToString(bn)} windows are not a whole number of ${h} x ${w} maps`);
    return [{ dtype: y!.dtype, shape: [b, h, w, c] } satisfies TensorType];
  },
});

/**
 * For each output position of WindowPartition, the flattened (H*W) position it reads; WindowReverse
 * reads the inverse. One definition, for the host kernels, the ONNX gather and the tests.
 */
export function windowPartitionIndex(h: number, w: number, { window: [m0, m1], shift: [s0, s1] }: WindowAttrs): Int32Array {
  const index = new Int32Array(h * w);
  const [nw, n] = [w / m1, m0 * m1];
  const mod = (a: number, m: number) => ((a % m) + m) % m;
  for (let win = 0; win < (h / m0) * nw; win++) {
    for (let t = 0; t < n; t++) {
      const y = Math.floor(win / nw) * m0 + Math.floor(t / m1);
      const x = (win % nw) * m1 + (t % m1);
      index[win * n + t] = mod(y + s0, h) * w + mod(x + s1, w);
    }
  }
  return index;
}

/** The inverse permutation: where each map position sits among the windows. */
export function windowReverseIndex(h: number, w: number, attrs: WindowAttrs): Int32Array {
  const forward = windowPartitionIndex(h, w, attrs);
  const inverse = new Int32Array(forward.length);
  forward.forEach((source, k) => (inverse[source] = k));
  return inverse;
}
