import { describe, expect, it } from 'vitest';
import type { Config } from '../config.ts';
import { loadFixture, maxAbsDiff, runCatalogModel } from '../testing.ts';

/** The catalog config for a fixture: PyTorch's constructor and call arguments, and which masks it passes. */
function configOf(fixture: ReturnType<typeof loadFixture>): Config {
  const mask = (name: string) => {
    const t = fixture.inputs.get(name);
    return t ? (t.dtype === 'bool' ? 'bool' : 'float') : 'none';
  };
  const attnMask = fixture.inputs.get('attn_mask');
  return {
    ...(fixture.config as Config),
    ...(fixture.call as Config),
    key_padding_mask: mask('key_padding_mask'),
    attn_mask: mask('attn_mask'),
    attn_mask_dims: attnMask?.shape.length ?? 2,
  };
}

const CASES = [
  'torch_mha_self',
  'torch_mha_key_padding',
  'torch_mha_bool_attn_mask',
  'torch_mha_float_attn_mask',
  'torch_mha_kdim_vdim',
  'torch_mha_seq_first',
  'torch_mha_no_bias',
];

describe('torch.nn.MultiheadAttention compatibility', () => {
  for (const name of CASES) {
    it(`${name}: loads the state_dict as is and matches PyTorch`, async () => {
      const f = loadFixture(name);
      const out = await runCatalogModel('torch_multihead_attention', configOf(f), Object.fromEntries(f.inputs), f.params);
      expect(maxAbsDiff(out.output!, f.outputs.get('output')!)).toBeLessThanOrEqual(1e-5);
      const weights = f.outputs.get('attn_weights');
      if (weights) expect(maxAbsDiff(out.attn_weights!, weights)).toBeLessThanOrEqual(1e-5);
      else expect(out.attn_weights).toBeUndefined();
    });
  }
});
