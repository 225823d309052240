import { describe, expect, it } from 'vitest';
import { loadFixture, maxAbsDiff, runCatalogModel } from '../testing.ts';

describe('AdditiveAttention', () => {
  it("matches d2l's AdditiveAttention on the article's example, loading its state_dict", async () => {
    const f = loadFixture('additive_attention');
    expect([...f.params.keys()].sort()).toEqual(['W_k.weight', 'W_q.weight', 'w_v.weight']);
    const out = await runCatalogModel('additive_attention', {}, Object.fromEntries(f.inputs), f.params);
    expect(out.output!.shape).toEqual([2, 1, 4]);
    expect(maxAbsDiff(out.output!, f.outputs.get('output')!)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(out.attention_weights!, f.outputs.get('attention_weights')!)).toBeLessThanOrEqual(1e-6);
  });
});
