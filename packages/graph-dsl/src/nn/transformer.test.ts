import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { nn, trace } from '../index.ts';
import { Module } from '../module.ts';
import type { Tensor } from '../tensor.ts';
import { keysOf, outputShapes, torchKeys } from './testing.ts';

type Seq = Tensor<'float32', 3>;
const f32 = (...shape: (string | number)[]) => ({ dtype: 'float32', shape }) as const;

/** The ops of one encoder layer's forward, in order. */
function encoderOps(options: nn.TransformerLayerOptions): string[] {
  class Wrap extends Module {
    readonly layer = new nn.TransformerEncoderLayer(16, 4, { dim_feedforward: 32, ...options });
    forward(x: Seq) {
      return this.layer.forward(x);
    }
  }
  return trace(new Wrap(), { x: f32('B', 'T', 16) }).nodes.map((n) => n.op);
}

describe('nn.TransformerEncoderLayer and nn.TransformerDecoderLayer', () => {
  it("have torch 1.13's state_dict keys and shapes (dim_feedforward 2048 by default)", () => {
    expect(keysOf(new nn.TransformerEncoderLayer(16, 4))).toEqual(torchKeys('TransformerEncoderLayer(16, 4)'));
    expect(keysOf(new nn.TransformerEncoderLayer(16, 4, { dim_feedforward: 32, activation: 'gelu', norm_first: true })))
      .toEqual(torchKeys("TransformerEncoderLayer(16, 4, dim_feedforward=32, activation='gelu', norm_first=True)"));
    expect(keysOf(new nn.TransformerDecoderLayer(16, 4, { dim_feedforward: 32 }))).toEqual(torchKeys('TransformerDecoderLayer(16, 4, dim_feedforward=32)'));
  });

  it('keep the input layout: (T, B, d) by default, (B, T, d) with batch_first, masks included', () => {
    const enc = new nn.TransformerEncoderLayer(16, 4, { dim_feedforward: 32 });
    expect(outputShapes(enc, { src: f32('S', 'B', 16), pad: { dtype: 'bool', shape: ['B', 'S'] } }, (src, pad) => [enc.forward(src as Seq, { srcKeyPaddingMask: pad as Tensor<'bool', 2> })]))
      .toEqual({ output_0: ['S', 'B', '16'] });
    const dec = new nn.TransformerDecoderLayer(16, 4, { dim_feedforward: 32, batch_first: true, norm_first: true });
    const inputs = { tgt: f32('B', 'T', 16), memory: f32('B', 'S', 16), causal: { dtype: 'bool', shape: ['T', 'T'] } } as const;
    expect(outputShapes(dec, inputs, (tgt, memory, causal) => [dec.forward(tgt as Seq, memory as Seq, { tgtMask: causal as Tensor<'bool', 2> })]))
      .toEqual({ output_0: ['B', 'T', '16'] });
  });

  it('post-norm normalizes after each residual add, norm_first before each block (the last op is an Add)', () => {
    const post = encoderOps({});
    const pre = encoderOps({ norm_first: true });
    expect(post.at(-1)).toBe('LayerNorm');
    expect(pre.at(-1)).toBe('Add');
    expect(pre.filter((op) => op === 'LayerNorm')).toHaveLength(2);
    expect(post.filter((op) => op === 'LayerNorm')).toHaveLength(2);
    expect(encoderOps({ activation: 'gelu' })).toContain('Erf');
    expect(post).toContain('Relu');
  });

  it('refuses an activation torch does not know, and sizes that do not divide into heads', () => {
    expect(() => new nn.TransformerEncoderLayer(16, 4, { activation: 'tanh' as 'gelu' })).toThrow(new ConfigError('TransformerEncoderLayer: activation should be relu/gelu, not tanh'));
    expect(() => new nn.TransformerDecoderLayer(18, 4)).toThrow(new ConfigError('MultiheadAttention: embed_dim (18) must be divisible by num_heads (4)'));
  });
});
