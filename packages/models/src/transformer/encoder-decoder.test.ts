import { describe, expect, it } from 'vitest';
import type { Config } from '../config.ts';
import { loadFixture, maxAbsDiff, runCatalogModel } from '../testing.ts';

describe("the article's Transformer (d2l form)", () => {
  const f = loadFixture('d2l_transformer');
  const config = { ...(f.config as Config), batch: 3, src_len: 7, tgt_len: 5 };

  it("matches a PyTorch re-implementation of d2l's encoder-decoder, attention weights of every block included", async () => {
    const out = await runCatalogModel('transformer', config, Object.fromEntries(f.inputs), f.params);
    expect(out.logits!.shape).toEqual([3, 5, 13]);
    expect(maxAbsDiff(out.logits!, f.outputs.get('logits')!)).toBeLessThanOrEqual(1e-4);
    const names = ['enc_attention_0', 'enc_attention_1', 'dec_self_attention_0', 'dec_cross_attention_0', 'dec_self_attention_1', 'dec_cross_attention_1'];
    for (const name of names) expect(maxAbsDiff(out[name]!, f.outputs.get(name)!), name).toBeLessThanOrEqual(1e-5);
    // The causal self-attention never looks ahead; the cross-attention ignores padded source positions (row 2 has 2).
    const self = out.dec_self_attention_0!;
    for (let q = 0; q < 5; q++) for (let k = q + 1; k < 5; k++) expect(self.data[q * 5 + k]).toBe(0);
    const cross = out.dec_cross_attention_1!;
    const row2 = 2 * 4 * 5 * 7; // batch row 2, head 0
    expect(Array.from(cross.data.slice(row2 + 2, row2 + 7)).every((v) => v < 1e-6)).toBe(true);
  });

  it('state_dict names follow the modules: encoder.blks.0.attention.W_q.weight, decoder.dense.weight', () => {
    expect([...f.params.keys()]).toEqual(expect.arrayContaining(['encoder.blks.0.attention.W_q.weight', 'decoder.blks.1.addnorm3.ln.bias', 'decoder.dense.weight']));
  });
});
