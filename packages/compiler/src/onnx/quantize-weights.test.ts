import { describe, expect, it } from 'vitest';
import { quantizePerColumn } from './quantize-weights.ts';
import { randomTensor } from './test-support.ts';

describe('quantizePerColumn', () => {
  it('gives each column the scale max |w| / 127 and rounds every value to the nearest step', () => {
    const [k, n] = [5, 4];
    const w = randomTensor([k, n], 3).data;
    w[2 * n + 1] = 3; // one large value sets its column's scale alone
    const q = quantizePerColumn(w, k, n);
    for (let c = 0; c < n; c++) {
      let max = 0;
      for (let r = 0; r < k; r++) max = Math.max(max, Math.abs(w[r * n + c]!));
      expect(q.scale[c]).toBeCloseTo(max / 127, 7);
      for (let r = 0; r < k; r++) {
        expect(Math.abs(q.data[r * n + c]! * q.scale[c]! - w[r * n + c]!)).toBeLessThanOrEqual(q.scale[c]! / 2 + 1e-7);
        expect(Math.abs(q.data[r * n + c]!)).toBeLessThanOrEqual(127);
      }
    }
    expect(q.data[2 * n + 1]).toBe(127);
  });

  it('reads a (N, K) weight as its transpose, and gives a zero column scale 1', () => {
    const [k, n] = [3, 2];
    const wt = Float32Array.from([0.5, -1, 0.25, 0, 0, 0]); // (N, K): column 1 of the (K, N) weight is zero
    const q = quantizePerColumn(wt, k, n, true);
    expect([...q.scale]).toEqual([Math.fround(1 / 127), 1]);
    expect([...q.data]).toEqual([64, 0, -127, 0, 32, 0]);
    expect(() => quantizePerColumn(wt, 4, 2)).toThrow(/6 values for a 4 x 2 weight/);
  });
});
