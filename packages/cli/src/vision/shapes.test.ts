import { describe, expect, it } from 'vitest';
import { SHAPES, shapesDataset } from './shapes.ts';

describe('the generated shapes dataset', () => {
  it('is balanced, deterministic per seed, and the classes differ in their pixels', () => {
    const d = shapesDataset(80, 32, 1);
    expect(d.images.shape).toEqual([80, 3, 32, 32]);
    const counts = SHAPES.map((_, k) => d.labels.filter((l) => l === k).length);
    expect(counts).toEqual([20, 20, 20, 20]);
    expect(shapesDataset(80, 32, 1).images.data).toEqual(d.images.data);
    expect(shapesDataset(80, 32, 2).images.data).not.toEqual(d.images.data);
    // values stay in about [-1.1, 1.1]
    expect(Math.max(...d.images.data.subarray(0, 3072).map(Math.abs))).toBeLessThan(1.2);
    // the foreground covers a part of the image, not none or all of it (count pixels unlike the corner one)
    const plane = 1024;
    for (let n = 0; n < 8; n++) {
      const r = d.images.data.subarray(n * 3 * plane, n * 3 * plane + plane);
      const differs = r.filter((v) => Math.abs(v - r[0]!) > 0.3).length;
      expect(differs).toBeGreaterThan(20);
      expect(differs).toBeLessThan(plane - 20);
    }
  });
});
