/**
 * graph-dsl's nn.TransformerEncoderLayer / DecoderLayer and nn.GELU in the variants
 * torch.nn.Transformer does not use (norm_first, gelu, layer_norm_eps, seq-first, GELU's tanh
 * approximation), against PyTorch 1.13's numbers (fixtures/generate.py nn_layer_cases), on tfjs.
 */
import { type HostTensor, type InputSpec, nn, type Tensor } from '@tessera/graph-dsl';
import { describe, expect, it } from 'vitest';
import { Adapter } from '../entry.ts';
import { loadFixture, maxAbsDiff, runModule } from '../testing.ts';

type Seq = Tensor<'float32', 3>;
type Mask = Tensor<'bool' | 'float32', 2>;

/** Runs `call` over the fixture's inputs (in `names` order) with its state_dict, and returns the max |ours - torch|. */
async function diffFromTorch(fixture: string, layer: nn.TransformerEncoderLayer | nn.TransformerDecoderLayer, names: readonly string[], call: (...xs: Tensor[]) => Seq): Promise<number> {
  const f = loadFixture(fixture);
  const spec = (t: HostTensor): InputSpec => ({ dtype: t.dtype, shape: t.shape });
  const inputs = Object.fromEntries(names.map((n) => [n, spec(f.inputs.get(n)!)]));
  const out = await runModule({ module: new Adapter(layer, (...xs) => [call(...xs)]), inputs, outputs: ['output'] }, Object.fromEntries(f.inputs), f.params);
  return maxAbsDiff(out.output!, f.outputs.get('output')!);
}

const encoderNormFirst = (o: nn.TransformerLayerOptions = {}) =>
  new nn.TransformerEncoderLayer(16, 4, { dim_feedforward: 32, activation: 'gelu', layer_norm_eps: 1e-3, batch_first: true, norm_first: true, ...o });

describe('nn.TransformerEncoderLayer / DecoderLayer against PyTorch', () => {
  it('encoder, norm_first, gelu, layer_norm_eps 1e-3, batch_first, src_key_padding_mask: matches torch; post-norm or ReLU would not', async () => {
    const run = (layer: nn.TransformerEncoderLayer) => diffFromTorch('torch_encoder_layer_norm_first_gelu', layer, ['src', 'src_key_padding_mask'], (src, pad) => layer.forward(src as Seq, { srcKeyPaddingMask: pad as Tensor<'bool', 2> }));
    expect(await run(encoderNormFirst())).toBeLessThanOrEqual(1e-5);
    expect(await run(encoderNormFirst({ norm_first: false }))).toBeGreaterThan(1e-2);
    expect(await run(encoderNormFirst({ activation: 'relu' }))).toBeGreaterThan(1e-3);
    expect(await run(encoderNormFirst({ layer_norm_eps: 1e-5 }))).toBeGreaterThan(1e-5);
  });

  it('encoder, post-norm ReLU, (S, B, d), float src_mask: matches torch', async () => {
    const layer = new nn.TransformerEncoderLayer(16, 2, { dim_feedforward: 24, dropout: 0 });
    expect(await diffFromTorch('torch_encoder_layer_seq_first', layer, ['src', 'src_mask'], (src, mask) => layer.forward(src as Seq, { srcMask: mask as Mask }))).toBeLessThanOrEqual(1e-5);
  });

  it('decoder, norm_first, gelu, batch_first, bool causal tgt_mask and memory_key_padding_mask: matches torch', async () => {
    const layer = new nn.TransformerDecoderLayer(16, 4, { dim_feedforward: 32, activation: 'gelu', batch_first: true, norm_first: true });
    const names = ['tgt', 'memory', 'tgt_mask', 'memory_key_padding_mask'];
    const diff = await diffFromTorch('torch_decoder_layer_norm_first_gelu', layer, names, (tgt, memory, causal, pad) =>
      layer.forward(tgt as Seq, memory as Seq, { tgtMask: causal as Mask, memoryKeyPaddingMask: pad as Tensor<'bool', 2> }));
    expect(diff).toBeLessThanOrEqual(1e-5);
  });
});

describe('nn.GELU against PyTorch', () => {
  it("approximate 'none' and 'tanh' match torch on -6..6, and differ from each other there", async () => {
    const f = loadFixture('torch_gelu');
    for (const approximate of ['none', 'tanh'] as const) {
      const gelu = new nn.GELU(approximate);
      const out = await runModule({ module: new Adapter(gelu, (x) => [gelu.forward(x as Tensor<'float32', 2>)]), inputs: { x: { dtype: 'float32', shape: [7, 7] } }, outputs: ['output'] }, { x: f.inputs.get('x')! });
      expect(maxAbsDiff(out.output!, f.outputs.get(approximate)!)).toBeLessThanOrEqual(1e-6);
    }
    expect(maxAbsDiff(f.outputs.get('none')!, f.outputs.get('tanh')!)).toBeGreaterThan(1e-4);
  });
});
