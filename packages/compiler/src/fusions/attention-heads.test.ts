import { describe, expect, it } from 'vitest';
import { Module, type Tensor, trace, where } from '@tessera/graph-dsl';
import { fusedAndUnfused } from '../testing.ts';

type T3 = Tensor<'float32', 3>;
const split4 = (x: T3) => x.reshape([x.size(0), x.size(1), 2, 3]).transpose(1, 2);

/** torch's layout: (B, n, H*E) -> (B, H, n, E), and back. */
class Torch extends Module {
  forward(q: T3, k: T3, v: T3) {
    const o = split4(q).div(Math.sqrt(3)).matmul(split4(k).mT).softmax(-1);
    const heads = o.matmul(split4(v));
    return { out: heads.transpose(1, 2).reshape([heads.size(0), heads.size(2), 6]), weights: o.mean(1) };
  }
}

/** d2l's layout: the heads folded into the batch, (B*H, n, E), with a per-(batch, head) valid-length mask. */
class D2l extends Module {
  forward(q: T3, k: T3, v: T3, keep: Tensor<'bool', 3>) {
    const fold = (x: T3) => split4(x).reshape([-1, x.size(1), 3]);
    const p = where(keep, fold(q).matmul(fold(k).mT).div(Math.sqrt(3)), -1e6).softmax(-1);
    const o = p.matmul(fold(v));
    return { out: o.reshape([-1, 2, o.size(1), 3]).transpose(1, 2).reshape([-1, o.size(1), 6]), p };
  }
}

/** Swin's shifted windows: the heads of (B*nW, n, C) viewed as (B, nW, H, n, E) to add a per-window mask, and back. */
class Windows extends Module {
  forward(q: T3, k: T3, v: T3, mask: Tensor<'float32', 5>) {
    const view = (x: T3) => split4(x).reshape([-1, 2, 2, x.size(1), 3]);
    const p = view(q).matmul(view(k).mT).mul(0.5).add(mask).softmax(-1);
    const o = p.matmul(view(v)).reshape([-1, 2, q.size(1), 3]);
    return o.transpose(1, 2).reshape([-1, q.size(1), 6]);
  }
}

/** K's heads taken as strided columns of the width (head h: columns h, h+2, h+4): not the split the rule knows. */
class Odd extends Module {
  forward(q: T3, k: T3, v: T3) {
    const strided = k.reshape([k.size(0), k.size(1), 3, 2]).permute(0, 3, 1, 2);
    const o = split4(q).matmul(strided.mT).softmax(-1).matmul(split4(v));
    return o.transpose(1, 2).reshape([o.size(0), o.size(2), 6]);
  }
}

const f32 = (shape: (number | string)[]) => ({ dtype: 'float32' as const, shape });

describe('attention-heads fusion', () => {
  it("folds torch's split and merge, keeping the head-averaged weights", () => {
    const { graph, counts, diff } = fusedAndUnfused(trace(new Torch(), { q: f32(['B', 4, 6]), k: f32(['B', 5, 6]), v: f32(['B', 5, 6]) }), { B: 2 });
    expect([counts.attention, counts['attention-heads']]).toEqual([1, 1]);
    const attention = graph.nodes.find((n) => n.op === 'Attention')!;
    expect(attention.attrs).toMatchObject({ numHeads: 2, probs: true });
    expect(graph.nodes.filter((n) => n.op === 'Transpose')).toHaveLength(0);
    expect(diff).toBeLessThanOrEqual(1e-6);
  });

  it("folds d2l's heads-in-the-batch layout, viewing its (B*H, 1, S) mask as (B, H, 1, S) and the probabilities back", () => {
    const { counts, diff } = fusedAndUnfused(trace(new D2l(), { q: f32([2, 4, 6]), k: f32([2, 5, 6]), v: f32([2, 5, 6]), keep: { dtype: 'bool', shape: [4, 1, 5] } }), {});
    expect([counts.attention, counts['attention-heads']]).toEqual([1, 1]);
    expect(diff).toBeLessThanOrEqual(1e-6);
  });

  it("packs Swin's per-window view as two batch dims, (B, nW, n, C), where the window mask still broadcasts", () => {
    const { graph, counts, diff } = fusedAndUnfused(trace(new Windows(), { q: f32([4, 5, 6]), k: f32([4, 5, 6]), v: f32([4, 5, 6]), mask: f32([1, 2, 1, 5, 5]) }), {});
    expect([counts.attention, counts['attention-heads']]).toEqual([1, 1]);
    const attention = graph.nodes.find((n) => n.op === 'Attention')!;
    expect(attention.attrs).toMatchObject({ numHeads: 2 });
    expect(graph.types.get(attention.inputs[0]!)!.shape).toEqual([2, 2, 5, 6]);
    expect(graph.nodes.filter((n) => n.op === 'Transpose')).toHaveLength(0);
    expect(diff).toBeLessThanOrEqual(1e-6);
  });

  it('leaves another split of the width alone, and says why', () => {
    const { counts, notes, diff } = fusedAndUnfused(trace(new Odd(), { q: f32([2, 4, 6]), k: f32([2, 4, 6]), v: f32([2, 4, 6]) }), {});
    expect([counts.attention, counts['attention-heads']]).toEqual([1, 0]);
    expect(notes.join('\n')).toMatch(/attention-heads: near-match .*(perm|not the head transpose)/);
    expect(diff).toBeLessThanOrEqual(1e-6);
  });
});
