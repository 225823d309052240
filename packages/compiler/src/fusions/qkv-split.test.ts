import { describe, expect, it } from 'vitest';
import { Module, nn, type Tensor, trace } from '@tessera/graph-dsl';
import { fusedAndUnfused, opsOf } from '../testing.ts';

/** timm / torchvision Swin: one projection, reshape (B, N, 3, H, E), permute (2, 0, 3, 1, 4), pick q, k, v. */
class PackedQkv extends Module {
  readonly qkv = new nn.Linear(8, 24);
  forward(x: Tensor<'float32', 3>) {
    const t = this.qkv.forward(x).reshape([-1, 5, 3, 2, 4]).permute(2, 0, 3, 1, 4);
    const [q, k, v] = [0, 1, 2].map((i) => t.slice(0, i, i + 1).squeeze(0) as Tensor<'float32', 4>) as [Tensor<'float32', 4>, Tensor<'float32', 4>, Tensor<'float32', 4>];
    return q.mul(0.5).matmul(k.mT).softmax(-1).matmul(v).transpose(1, 2).reshape([-1, 5, 8]);
  }
}

describe('qkv-split', () => {
  it('picks Q, K, V as slices of the projection (no rank-5 transpose), and the attention takes them packed', () => {
    const { graph, counts, diff } = fusedAndUnfused(trace(new PackedQkv(), { x: { dtype: 'float32', shape: ['B', 5, 8] } }), { B: 2 });
    expect(counts['qkv-split']).toBe(3);
    expect(counts['attention-heads']).toBe(1);
    expect(graph.nodes.filter((n) => n.op === 'Transpose' && (n.attrs as { perm: number[] }).perm.length === 5)).toHaveLength(0);
    expect(opsOf(graph)).toEqual(expect.arrayContaining(['Linear', 'Slice', 'Attention']));
    expect(diff).toBeLessThanOrEqual(1e-6);
  });
});
