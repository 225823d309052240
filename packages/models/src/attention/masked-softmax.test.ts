import { describe, expect, it } from 'vitest';
import { hostTensor } from '@tessera/graph-dsl';
import { loadFixture, maxAbsDiff, runCatalogModel } from '../testing.ts';

describe('maskedSoftmax', () => {
  for (const [fixture, validLens] of [['masked_softmax_1d', '1d'], ['masked_softmax_2d', '2d']] as const) {
    it(`matches d2l's masked_softmax with ${validLens} valid lengths`, async () => {
      const f = loadFixture(fixture);
      const out = await runCatalogModel('masked_softmax', { valid_lens: validLens }, { X: f.inputs.get('X')!, valid_lens: f.inputs.get('valid_lens')! });
      expect(maxAbsDiff(out.output!, f.outputs.get('output')!)).toBeLessThanOrEqual(1e-6);
    });
  }

  it("gives the article's pattern: zeros from each valid length on, rows summing to 1", async () => {
    const X = hostTensor('float32', [2, 2, 4], Array.from({ length: 16 }, (_, i) => Math.sin(i)));
    const lens = hostTensor('int32', [2, 2], [1, 3, 2, 4]);
    const { output } = await runCatalogModel('masked_softmax', { valid_lens: '2d' }, { X, valid_lens: lens });
    const rows = [0, 1, 2, 3].map((r) => Array.from(output!.data.slice(r * 4, r * 4 + 4)));
    [1, 3, 2, 4].forEach((len, r) => {
      expect(rows[r]!.slice(len).every((v) => v === 0)).toBe(true);
      expect(rows[r]!.slice(0, len).every((v) => v > 0)).toBe(true);
      expect(rows[r]!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 6);
    });
  });

  it('is a plain softmax without lengths', async () => {
    const X = hostTensor('float32', [1, 1, 3], [0, Math.log(2), Math.log(3)]);
    const { output } = await runCatalogModel('masked_softmax', { valid_lens: 'none', queries: 1, keys: 3 }, { X });
    expect(Array.from(output!.data)).toEqual([1 / 6, 2 / 6, 3 / 6].map((v) => expect.closeTo(v, 6)));
  });
});
