import { describe, expect, it } from 'vitest';
import { hostTensor } from '@tessera/graph-dsl';
import { exportOnnx } from './index.ts';
import { elementwise } from './test-models.ts';
import { checkOnnx, erf, maxAbsDiff, randomTensor, runOnnx } from './test-support.ts';

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

describe('ONNX export of elementwise ops', () => {
  it('unary, binary, comparison, logic, Cast and integer ops match plain loops', async () => {
    const bytes = exportOnnx(elementwise(), { weights: new Map() });
    expect(checkOnnx(bytes)).toBeUndefined();
    const R = 3;
    const x = randomTensor([R, 5], 500, 2);
    const y = randomTensor([R, 5], 501, 2);
    y.data[0] = x.data[0]!; // one equal pair, for Equal
    const k = hostTensor('int32', [R, 5], Array.from({ length: R * 5 }, (_, i) => (i * 7) % 9 - 4));
    const n = R * 5;
    const map = (f: (i: number) => number) => Float64Array.from({ length: n }, (_, i) => f(i));
    const xs = x.data;
    const ys = y.data;
    const ks = k.data;
    const expected = {
      unary: map((i) => {
        const v = xs[i]!;
        const p = Math.abs(v) + 0.5;
        return -v + Math.log(p) + Math.sqrt(p) + Math.exp(v) + Math.tanh(v) + Math.max(0, v) + sigmoid(v) + Math.sin(v) + Math.cos(v) + erf(v);
      }),
      binary: map((i) => {
        const [a, b] = [xs[i]!, ys[i]!];
        const p = Math.abs(a) + 0.5;
        return ((a - b) * b) / p + p ** b + Math.max(a, b) + Math.min(a, b) + p ** 2;
      }),
      compare: map((i) => {
        const [a, b] = [xs[i]!, ys[i]!];
        const either = (a > b || a < 0) && !(b >= -0.5);
        return (either ? a : b) + (a === b ? 1 : 0) + (a <= b ? 1 : 0) + (a > b ? 1 : 0);
      }),
      ints: map((i) => {
        const c = ks[i]!;
        return Math.max(c * 3 - Math.abs(c) - c + Math.trunc(Math.fround(xs[i]! * 4)), Math.min(c, 2));
      }),
      intCompare: map((i) => (ks[i] === 2 || ks[i]! < -1 ? 1 : 0)),
      sigmoid: map((i) => sigmoid(xs[i]!)),
    };
    const outputs = await runOnnx(bytes, { x, y, k });
    expect(outputs.ints!.dtype).toBe('int32');
    expect(outputs.intCompare!.dtype).toBe('bool');
    for (const [name, want] of Object.entries(expected)) {
      expect(outputs[name]!.shape, name).toEqual([R, 5]);
      expect(maxAbsDiff(outputs[name]!.data, want), name).toBeLessThanOrEqual(1e-5);
    }
  });
});
