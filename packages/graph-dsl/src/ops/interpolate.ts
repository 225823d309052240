/**
 * `F.interpolate(x, size | scale_factor, mode='bilinear' | 'bicubic', align_corners)` on (N, C, H, W),
 * with torch's coordinates: one definition of which input rows and columns each output reads and
 * with what weights (`interpolationTaps`), for the host kernel, the tfjs kernel and the tests.
 */
import { type HostTensor, hostTensor } from '../dtype.ts';
import { type Dim, dimToString } from '../dim.ts';
import { defineOp, expectRank, ShapeError } from './op.ts';

export type InterpolateMode = 'bilinear' | 'bicubic';

export interface InterpolateAttrs {
  readonly mode: InterpolateMode;
  readonly alignCorners: boolean;
  /** The output's (H, W). */
  readonly size: readonly [number, number];
  /** torch's scale_factor when the user gave one: then, without align_corners, coordinates scale by 1/scale_factor, not by in/out. */
  readonly scales?: readonly [number, number];
}

export const Interpolate = defineOp<InterpolateAttrs>({
  name: 'Interpolate',
  inputs: [{ name: 'x', dtypes: ['float32'] }],
  infer: ([x], { mode, size, scales }) => {
    expectRank(x!, `x (N, C, H, W) for ${mode} mode`, [4]);
    const [n, c, h, w] = x!.shape as [Dim, Dim, Dim, Dim];
    if (typeof h !== 'number' || typeof w !== 'number') throw new ShapeError(`the input size ${dimToString(h)} x ${dimToString(w)} must be concrete`);
    if (!size.every((s) => Number.isInteger(s) && s > 0)) throw new ShapeError(`the output size [${size.join(', ')}] must be whole numbers above 0`);
    if (scales && !scales.every((s) => Number.isFinite(s) && s > 0)) throw new ShapeError(`scale_factor [${scales.join(', ')}] must be numbers above 0`);
    return [{ dtype: 'float32', shape: [n, c, size[0], size[1]] }];
  },
});

/** For one output index along an axis: the input indices it reads (clamped to the border) and their weights. */
export interface Taps {
  readonly index: readonly number[];
  readonly weight: readonly number[];
}

/** torch's bicubic convolution coefficient (Keys, A = -0.75), for the 4 taps around t in [0, 1). */
function cubicWeights(t: number): number[] {
  const a = -0.75;
  const near = (x: number) => ((a + 2) * x - (a + 3)) * x * x + 1;
  const far = (x: number) => ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return [far(t + 1), near(t), near(1 - t), far(2 - t)];
}

/**
 * aten's upsample coordinates (UpSample.h): the source coordinate of output i is scale * i with
 * align_corners, else scale * (i + 0.5) - 0.5, clamped at 0 for linear only; bicubic reads
 * 4 neighbours with indices clamped to the border.
 */
export function interpolationTaps(inSize: number, outSize: number, mode: InterpolateMode, alignCorners: boolean, scaleFactor?: number): Taps[] {
  const scale = alignCorners ? (outSize > 1 ? (inSize - 1) / (outSize - 1) : 0) : scaleFactor ? 1 / scaleFactor : inSize / outSize;
  const clamp = (i: number) => Math.min(Math.max(i, 0), inSize - 1);
  return Array.from({ length: outSize }, (_, i) => {
    if (mode === 'bilinear') {
      if (inSize === outSize) return { index: [i], weight: [1] };
      const src = alignCorners ? scale * i : Math.max(scale * (i + 0.5) - 0.5, 0);
      const i0 = Math.floor(src);
      const i1 = i0 < inSize - 1 ? i0 + 1 : i0;
      const lambda = Math.min(Math.max(src - i0, 0), 1);
      return { index: [i0, i1], weight: [1 - lambda, lambda] };
    }
    const src = alignCorners ? scale * i : scale * (i + 0.5) - 0.5;
    const i0 = Math.floor(src);
    return { index: [-1, 0, 1, 2].map((k) => clamp(i0 + k)), weight: cubicWeights(src - i0) };
  });
}

/** The taps of an axis as a dense (out, in) matrix: out = M @ in along that axis (repeated border indices add up). */
export function interpolationMatrix(taps: readonly Taps[], inSize: number): Float32Array {
  const m = new Float32Array(taps.length * inSize);
  taps.forEach(({ index, weight }, o) => index.forEach((j, k) => (m[o * inSize + j]! += weight[k]!)));
  return m;
}

/** Interpolate on a host tensor, in double precision: rows, then columns, by the same taps. */
export function interpolateHost(x: HostTensor, attrs: InterpolateAttrs): HostTensor<'float32'> {
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [oh, ow] = attrs.size;
  const rows = interpolationTaps(h, oh, attrs.mode, attrs.alignCorners, attrs.scales?.[0]);
  const cols = interpolationTaps(w, ow, attrs.mode, attrs.alignCorners, attrs.scales?.[1]);
  const out = hostTensor('float32', [n, c, oh, ow]);
  const src = x.data as Float32Array;
  const tmp = new Float64Array(oh * w);
  for (let p = 0; p < n * c; p++) {
    const plane = p * h * w;
    rows.forEach(({ index, weight }, i) => {
      for (let j = 0; j < w; j++) tmp[i * w + j] = index.reduce((s, r, k) => s + weight[k]! * src[plane + r * w + j]!, 0);
    });
    for (let i = 0; i < oh; i++) {
      cols.forEach(({ index, weight }, j) => (out.data[p * oh * ow + i * ow + j] = index.reduce((s, col, k) => s + weight[k]! * tmp[i * w + col]!, 0)));
    }
  }
  return out;
}
