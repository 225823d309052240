import { describe, expect, it } from 'vitest';
import { loadFixture, maxAbsDiff, runCatalogModel } from '../testing.ts';

describe('DotProductAttention', () => {
  for (const [fixture, validLens, Q] of [['dot_product_attention', '1d', 1], ['dot_product_attention_2d', '2d', 3]] as const) {
    it(`matches d2l's DotProductAttention (${fixture})`, async () => {
      const f = loadFixture(fixture);
      const out = await runCatalogModel('dot_product_attention', { valid_lens: validLens, queries: Q }, Object.fromEntries(f.inputs));
      expect(out.output!.shape).toEqual([2, Q, 4]);
      expect(maxAbsDiff(out.output!, f.outputs.get('output')!)).toBeLessThanOrEqual(1e-5);
      expect(maxAbsDiff(out.attention_weights!, f.outputs.get('attention_weights')!)).toBeLessThanOrEqual(1e-6);
    });
  }
});
