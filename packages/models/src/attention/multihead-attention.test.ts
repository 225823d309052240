import { describe, expect, it } from 'vitest';
import { loadFixture, maxAbsDiff, runCatalogModel } from '../testing.ts';

describe("d2l's MultiHeadAttention", () => {
  it('gives (2, 4, 100) for 100 hiddens, 5 heads, 4 queries, 6 key-value pairs, and matches PyTorch', async () => {
    const f = loadFixture('d2l_multihead_attention');
    const out = await runCatalogModel('d2l_multihead_attention', {}, Object.fromEntries(f.inputs), f.params);
    expect(out.output!.shape).toEqual([2, 4, 100]);
    expect(maxAbsDiff(out.output!, f.outputs.get('output')!)).toBeLessThanOrEqual(1e-5);
  });
});
