import { describe, expect, it } from 'vitest';
import { F, Module, Parameter, type Tensor, trace } from '@tessera/graph-dsl';
import { fusedAndUnfused, opsOf } from '../testing.ts';

/** torch's in-projection: one (3E, E) weight, sliced into W_q, W_k, W_v, each applied to x. */
class InProjection extends Module {
  readonly w = new Parameter([12, 4], { kind: 'normal', mean: 0, std: 1 });
  readonly b = new Parameter([12], { kind: 'normal', mean: 0, std: 1 });
  forward(x: Tensor<'float32', 3>, memory: Tensor<'float32', 3>) {
    const project = (t: Tensor<'float32', 3>, i: number) => F.linear(t, this.w.slice(0, 4 * i, 4 * i + 4) as Tensor<'float32', 2>, this.b.slice(0, 4 * i, 4 * i + 4) as Tensor<'float32', 1>);
    // self-attention reads Q, K, V of x; cross-attention Q of x and K, V of the memory
    return { self: project(x, 0).add(project(x, 1)).add(project(x, 2)), cross: project(memory, 1).add(project(memory, 2)) };
  }
}

describe('linear-siblings fusion', () => {
  it('makes the three projections of x one Linear by the whole weight, the two of the memory one by rows 4:12', () => {
    const { graph, counts, diff } = fusedAndUnfused(trace(new InProjection(), { x: { dtype: 'float32', shape: [2, 3, 4] }, memory: { dtype: 'float32', shape: [2, 5, 4] } }), {});
    expect(counts['linear-siblings']).toBe(2);
    // x: one Linear of 3 blocks; memory: one of 2; x's Q alone... is inside the first
    expect(opsOf(graph).filter((o) => o === 'Linear')).toHaveLength(2);
    expect(diff).toBeLessThanOrEqual(1e-6);
  });
});
