import { describe, expect, it } from 'vitest';
import { multiHeadAttentionWins, type OrtAttentionShape } from './ort-attention.ts';

const shape = (problems: number, length: number, headDim: number, bias: OrtAttentionShape['bias']): OrtAttentionShape => ({ problems, queries: length, keys: length, headDim, bias });

describe('the onnxruntime target chooses the attention form ONNX Runtime ran faster', () => {
  it('keeps the plain graph for Swin windows with their per-head bias', () => {
    for (const [windows, heads] of [[64, 3], [16, 6], [4, 12], [1, 24]] as const) expect(multiHeadAttentionWins(shape(windows * heads, 49, 32, 'heads'))).toBe(false);
  });
  it('fuses ViT, the small self-attention and the Transformer (with or without a padding mask)', () => {
    expect(multiHeadAttentionWins(shape(12, 197, 64, 'none'))).toBe(true);
    expect(multiHeadAttentionWins(shape(12, 197, 64, 'keys'))).toBe(true);
    expect(multiHeadAttentionWins(shape(4, 16, 16, 'none'))).toBe(true);
    expect(multiHeadAttentionWins(shape(4, 20, 32, 'keys'))).toBe(true);
  });
});
