import { describe, expect, it } from 'vitest';
import type { HostTensor } from '@tessera/graph-dsl';
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from './codec.ts';
import { floatToHalf, halfToFloat } from './half.ts';
import { DTYPE_KEY, dequantizeWeights, keptBecause, narrowWeights, SCALE_SUFFIX, SCHEME_KEY, type WeightsDType } from './weights-dtype.ts';

const f32 = (shape: number[], values: ArrayLike<number>): HostTensor => ({ dtype: 'float32', shape, data: Float32Array.from(values) });
/** A Linear's weight of 8 rows of 128, each row at its own scale (row 3 all zeros, as torchvision's initial heads). */
const weight = f32([8, 128], Array.from({ length: 1024 }, (_, i) => (Math.floor(i / 128) === 3 ? 0 : Math.sin(i * 0.37) * 10 ** (Math.floor(i / 128) - 4))));
const weights = new Map<string, HostTensor>([
  ['fc.weight', weight],
  ['fc.bias', f32([8], [1, 2, 3, 4, 5, 6, 7, 8])],
  ['norm.weight', f32([4, 4], Array.from({ length: 16 }, (_, i) => i))],
  ['index', { dtype: 'int32', shape: [32, 32], data: new Int32Array(1024).fill(7) }],
]);

/** Written and read back as every loader reads weights. */
function roundTrip(dtype: WeightsDType, given: ReadonlyMap<string, HostTensor> = weights) {
  const n = narrowWeights(given, dtype);
  const bytes = encodeSafetensors(n.tensors, n.metadata, 'test', n.narrow);
  const decoded = decodeSafetensors(bytes, 'w.safetensors');
  return { n, bytes, decoded, back: dequantizeWeights(decoded, 'w.safetensors') };
}

describe('narrowWeights and dequantizeWeights', () => {
  it('float16: stores 2-D tensors of 1024+ values as F16, read back as the nearest halves, the rest as they were', () => {
    const special = f32([2, 512], Array.from({ length: 1024 }, (_, i) => [2 ** -24, 3 * 2 ** -25, 1 + 2 ** -11, 65504, -0, 1 / 3, Infinity, -Infinity][i % 8]! * (i < 512 ? 1 : -1)));
    const { n, decoded, back } = roundTrip('float16', new Map([...weights, ['special', special]]));
    expect(decoded.stored.get('fc.weight')).toBe('F16');
    expect(decoded.stored.get('special')).toBe('F16');
    expect(Array.from(back.get('special')!.data)).toEqual(Array.from(special.data, (v) => halfToFloat(floatToHalf(v))));
    expect(back.get('special')!.data.slice(0, 3)).toEqual(Float32Array.of(2 ** -24, 2 ** -23, 1));
    for (const [key, t] of weights) {
      expect(back.get(key)!.dtype).toBe(t.dtype);
      expect(back.get(key)!.shape).toEqual(t.shape);
    }
    expect([...n.kept]).toEqual([['fc.bias', 'fewer than 2 dims'], ['norm.weight', 'under 1024 values'], ['index', 'int32, not float32']]);
    expect([decoded.stored.get('fc.bias'), decoded.stored.get('norm.weight'), decoded.stored.get('index')]).toEqual(['F32', 'F32', 'I32']);
    expect(Array.from(back.get('fc.bias')!.data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(decoded.metadata[DTYPE_KEY]).toBe('float16');
  });

  it('int8: one F32 scale per row beside each I8 tensor, every value back within half a step of its row', () => {
    const { n, decoded, back } = roundTrip('int8');
    expect(decoded.stored.get('fc.weight')).toBe('I8');
    expect(decoded.stored.get(`fc.weight${SCALE_SUFFIX}`)).toBe('F32');
    const scales = decoded.tensors.get('fc.weight:scale')!;
    expect(scales.shape).toEqual([8]);
    expect(back.has('fc.weight:scale')).toBe(false);
    expect([...back.keys()].sort()).toEqual([...weights.keys()].sort());
    const w = back.get('fc.weight')!;
    expect(w.dtype).toBe('float32');
    for (let r = 0; r < 8; r++) {
      const row = (t: HostTensor) => Array.from(t.data.slice(r * 128, (r + 1) * 128));
      const peak = Math.max(...row(weight).map(Math.abs));
      expect(scales.data[r]).toBe(Math.fround(peak / 127));
      // rows 10^4 apart in size: a scale per tensor would flatten the small rows to 0
      const error = Math.max(...row(w).map((v, i) => Math.abs(v - row(weight)[i]!)));
      expect(error).toBeLessThanOrEqual(scales.data[r]! / 2 + 1e-12);
      if (r !== 3) expect(error).toBeGreaterThan(0);
      if (r !== 3) expect(Math.max(...row(w).map(Math.abs))).toBeCloseTo(peak, 6);
    }
    expect(Array.from(w.data.slice(3 * 128, 4 * 128)).every((v) => v === 0)).toBe(true);
    expect(n.kept.get('fc.bias')).toBe('fewer than 2 dims');
    expect(decoded.metadata).toMatchObject({ [DTYPE_KEY]: 'int8', [SCHEME_KEY]: expect.stringMatching(/^symmetric per row: KEY is I8 and KEY:scale F32 of shape \[dim 0\], W\[i, \.\.\.\] = I8\[i, \.\.\.\] \* scale\[i\]/) });
  });

  it('shrinks the file about 2x for float16 and 4x for int8', () => {
    const big = new Map([['w', f32([64, 256], Array.from({ length: 64 * 256 }, (_, i) => Math.cos(i)))], ['b', f32([64], new Array(64).fill(1))]]);
    const size = (dtype: WeightsDType) => roundTrip(dtype, big).bytes.length;
    expect(size('float32') / size('float16')).toBeGreaterThan(1.9);
    expect(size('float32') / size('int8')).toBeGreaterThan(3.7);
  });

  it('keeps what it cannot narrow, saying why', () => {
    const wide = f32([2, 512], new Array(1024).fill(1).map((v, i) => (i === 5 ? 70000 : v)));
    const nan = f32([2, 512], new Array(1024).fill(1).map((v, i) => (i === 5 ? NaN : i === 6 ? -Infinity : v)));
    expect(keptBecause(wide, 'float16')).toBe("values beyond float16's +-65504");
    expect(keptBecause(wide, 'int8')).toBeUndefined();
    expect(keptBecause(nan, 'float16')).toBeUndefined();
    expect(keptBecause(nan, 'int8')).toBe('values that are not finite');
    expect(keptBecause(weight, 'float32')).toBe('float32 asked for');
  });

  it('keeps the tensors under excluded module paths, and only those', () => {
    const heads = new Map([...weights, ['heads.0.weight', weight], ['head.weight', weight]]);
    const n = narrowWeights(heads, 'int8', ['head', 'fc.weight']);
    expect([n.kept.get('head.weight'), n.kept.get('fc.weight'), n.kept.get('heads.0.weight')]).toEqual(['excluded', 'excluded', undefined]);
    expect([...n.narrow.keys()]).toEqual(['heads.0.weight']);
    expect(n.tensors.has('head.weight:scale')).toBe(false);
  });

  it('gives a file that is not quantized back as it is, its I8 tensors as integers', () => {
    const plain = encodeSafetensors({ w: weight, mask: { dtype: 'int32', shape: [2], data: Int32Array.of(-3, 4) } }, undefined, 'test', new Map([['mask', 'I8']]));
    const back = dequantizeWeights(decodeSafetensors(plain), 'plain.safetensors');
    expect(back.get('w')).toEqual(weight);
    expect(back.get('mask')).toEqual({ dtype: 'int32', shape: [2], data: Int32Array.of(-3, 4) });
  });

  /** An int8 file with one thing changed. */
  function broken(change: (n: ReturnType<typeof narrowWeights>) => void): Uint8Array {
    const n = narrowWeights(weights, 'int8');
    change(n);
    return encodeSafetensors(n.tensors, n.metadata, 'test', n.narrow);
  }
  const bad: [string, Uint8Array, RegExp][] = [
    ['an I8 tensor without its scales', broken((n) => n.tensors.delete('fc.weight:scale')), /^bad\.safetensors: tensor 'fc\.weight' is I8 without its scales 'fc\.weight:scale' \(the file's __metadata__ says tessera\.weights_dtype int8\); expected an F32 tensor of one scale per row/],
    ['scales without their tensor', broken((n) => { n.tensors.delete('fc.weight'); n.narrow.delete('fc.weight'); }), /^bad\.safetensors: tensor 'fc\.weight:scale' holds the int8 scales of 'fc\.weight', which the file does not have/],
    ['scales beside a float tensor', broken((n) => n.narrow.delete('fc.weight') && n.tensors.set('fc.weight', weight)), /^bad\.safetensors: tensor 'fc\.weight' is F32 but has int8 scales 'fc\.weight:scale'; expected I8/],
    ['scales of the wrong shape', broken((n) => n.tensors.set('fc.weight:scale', f32([8, 1], new Array(8).fill(1)))), /^bad\.safetensors: tensor 'fc\.weight:scale' is F32\[8, 1\], but the I8 tensor 'fc\.weight' \[8, 128\] needs one float scale per row \(dim 0\): F32\[8\]$/],
    ['too few scales', broken((n) => n.tensors.set('fc.weight:scale', f32([4], new Array(4).fill(1)))), /tensor 'fc\.weight:scale' is F32\[4\], but .* F32\[8\]$/],
    ['integer scales', broken((n) => n.tensors.set('fc.weight:scale', { dtype: 'int32', shape: [8], data: new Int32Array(8) })), /tensor 'fc\.weight:scale' is I32\[8\], but .* F32\[8\]$/],
  ];
  for (const [what, bytes, message] of bad) {
    it(`refuses ${what}, naming the file and the tensor`, () => {
      const decoded = decodeSafetensors(bytes, 'bad.safetensors');
      expect(() => dequantizeWeights(decoded, 'bad.safetensors')).toThrow(SafetensorsError);
      expect(() => dequantizeWeights(decoded, 'bad.safetensors')).toThrow(message);
    });
  }
});
