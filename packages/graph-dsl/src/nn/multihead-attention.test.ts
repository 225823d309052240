import { describe, expect, it } from 'vitest';
import { ConfigError, OpError } from '../errors.ts';
import { nn } from '../index.ts';
import type { Tensor } from '../tensor.ts';
import { keysOf, outputShapes, torchKeys } from './testing.ts';

type Seq = Tensor<'float32', 3>;
const f32 = (...shape: (string | number)[]) => ({ dtype: 'float32', shape }) as const;

describe('nn.MultiheadAttention', () => {
  it("has torch's state_dict keys: packed in_proj, no biases with bias=False, separate q/k/v when kdim or vdim differ", () => {
    expect(keysOf(new nn.MultiheadAttention(16, 4))).toEqual(torchKeys('MultiheadAttention(16, 4)'));
    expect(keysOf(new nn.MultiheadAttention(16, 4, { bias: false }))).toEqual(torchKeys('MultiheadAttention(16, 4, bias=False)'));
    expect(keysOf(new nn.MultiheadAttention(8, 2, { kdim: 5, vdim: 6 }))).toEqual(torchKeys('MultiheadAttention(8, 2, kdim=5, vdim=6)'));
  });

  it('takes (L, B, E) by default and (B, L, E) with batch_first; weights averaged over heads or per head', () => {
    const seqFirst = new nn.MultiheadAttention(8, 2, { kdim: 5, vdim: 6 });
    expect(outputShapes(seqFirst, { q: f32('L', 'B', 8), k: f32('S', 'B', 5), v: f32('S', 'B', 6) }, (q, k, v) => {
      const r = seqFirst.forward(q as Seq, k as Seq, v as Seq);
      return { output: r.output, attn_weights: r.attnWeights! };
    })).toEqual({ output: ['L', 'B', '8'], attn_weights: ['B', 'L', 'S'] });

    const batchFirst = new nn.MultiheadAttention(8, 2, { batch_first: true });
    const inputs = { q: f32('B', 'L', 8), k: f32('B', 'S', 8), mask: { dtype: 'bool', shape: ['B', 'S'] } } as const;
    expect(outputShapes(batchFirst, inputs, (q, k, mask) => {
      const r = batchFirst.forward(q as Seq, k as Seq, k as Seq, { keyPaddingMask: mask as Tensor<'bool', 2>, averageAttnWeights: false });
      return { output: r.output, attn_weights: r.attnWeights! };
    })).toEqual({ output: ['B', 'L', '8'], attn_weights: ['B', '2', 'L', 'S'] });
    expect(outputShapes(batchFirst, inputs, (q, k) => {
      const r = batchFirst.forward(q as Seq, k as Seq, k as Seq, { needWeights: false });
      expect(r.attnWeights).toBeUndefined();
      return [r.output];
    })).toEqual({ output_0: ['B', 'L', '8'] });
  });

  it("starts as torch 1.13's _reset_parameters: both biases 0, the projections random within their bounds", () => {
    const weights = new nn.MultiheadAttention(16, 4).stateDict(3);
    const values = (key: string) => Array.from(weights.get(key)!.data);
    expect(values('in_proj_bias')).toEqual(new Array(48).fill(0));
    expect(values('out_proj.bias')).toEqual(new Array(16).fill(0));
    // xavier_uniform over (48, 16) for in_proj; Linear's kaiming bound 1/sqrt(16) for out_proj
    const spread = (key: string) => [Math.min(...values(key)), Math.max(...values(key))];
    expect(spread('in_proj_weight')[1]).toBeLessThanOrEqual(Math.sqrt(6 / 64));
    expect(spread('in_proj_weight')[1]).toBeGreaterThan(0.2);
    expect(spread('out_proj.weight')[0]).toBeGreaterThanOrEqual(-0.25);
    expect(spread('out_proj.weight')[0]).toBeLessThan(-0.2);
    expect([...weights.keys()]).toEqual(['in_proj_weight', 'in_proj_bias', 'out_proj.weight', 'out_proj.bias']);
  });

  it('refuses sizes torch refuses, as a ConfigError', () => {
    expect(() => new nn.MultiheadAttention(10, 4)).toThrow(new ConfigError('MultiheadAttention: embed_dim (10) must be divisible by num_heads (4)'));
    expect(() => new nn.MultiheadAttention(8, 0)).toThrow(new ConfigError('MultiheadAttention: num_heads must be a whole number above 0, got 0'));
  });

  it("reports a query of the wrong width at the caller's line, in self_attn's in-projection", () => {
    const mha = new nn.MultiheadAttention(8, 2, { batch_first: true });
    expect(() => outputShapes(mha, { q: f32('B', 'L', 6) }, (q) => [mha.forward(q as Seq, q as Seq, q as Seq).output])).toThrow(OpError);
    expect(() => outputShapes(mha, { q: f32('B', 'L', 6) }, (q) => [mha.forward(q as Seq, q as Seq, q as Seq).output])).toThrow(/MatMul: the last dim of a \(6\) must equal the second-to-last dim of b \(8\).*multihead-attention\.test\.ts:\d+:\d+ in inner/);
  });
});
