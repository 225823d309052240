import { describe, expect, it } from 'vitest';
import type { Config } from '../config.ts';
import { loadFixture, maxAbsDiff, runCatalogModel } from '../testing.ts';

function configOf(f: ReturnType<typeof loadFixture>, tgtMask: 'causal' | 'float'): Config {
  const { batch_first, d_model, nhead, num_encoder_layers, num_decoder_layers, dim_feedforward, dropout } = f.config as Record<string, number & boolean>;
  return {
    batch_first, d_model, nhead, num_encoder_layers, num_decoder_layers, dim_feedforward, dropout, tgt_mask: tgtMask,
    src_key_padding_mask: f.inputs.has('src_key_padding_mask'), memory_key_padding_mask: f.inputs.has('memory_key_padding_mask'),
  };
}

describe('torch.nn.Transformer compatibility', () => {
  for (const name of ['torch_transformer', 'torch_transformer_seq_first']) {
    for (const tgtMask of ['causal', 'float'] as const) {
      it(`${name}: loads the state_dict as is and matches PyTorch (tgt_mask ${tgtMask === 'causal' ? 'built in from Range ops' : 'given as input'})`, async () => {
        const f = loadFixture(name);
        expect([...f.params.keys()]).toContain('decoder.layers.1.multihead_attn.in_proj_weight');
        const inputs = Object.fromEntries([...f.inputs].filter(([k]) => tgtMask === 'float' || k !== 'tgt_mask'));
        const out = await runCatalogModel('torch_transformer', configOf(f, tgtMask), inputs, f.params);
        expect(maxAbsDiff(out.output!, f.outputs.get('output')!)).toBeLessThanOrEqual(1e-4);
      });
    }
  }

  it('differs from PyTorch without the causal mask (the mask matters in the fixture)', async () => {
    const f = loadFixture('torch_transformer');
    const inputs = Object.fromEntries([...f.inputs].filter(([k]) => k !== 'tgt_mask'));
    const out = await runCatalogModel('torch_transformer', { ...configOf(f, 'causal'), tgt_mask: 'none' }, inputs, f.params);
    expect(maxAbsDiff(out.output!, f.outputs.get('output')!)).toBeGreaterThan(1e-2);
  });
});
