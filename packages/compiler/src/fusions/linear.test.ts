import { describe, expect, it } from 'vitest';
import { F, Module, nn, Parameter, type Tensor, trace } from '@tessera/graph-dsl';
import { fusedAndUnfused, opsOf } from '../testing.ts';

class Mlp extends Module {
  readonly fc = new nn.Linear(4, 6);
  readonly out = new nn.Linear(6, 3, false);
  readonly extra = new Parameter([6], { kind: 'normal', mean: 0, std: 1 });
  forward(x: Tensor<'float32', 3>) {
    const h = F.relu(this.fc.forward(x));
    // a 1-D addend that is not (out,) is no bias: x @ W^T + extra, with W (3, 6) and extra (6,), does not fit
    return { y: this.out.forward(h), z: h.matmul(this.fc.weight).add(this.fc.bias!.slice(0, 0, 4).sum(0)) };
  }
}

describe('linear fusion', () => {
  it('makes x @ W^T + b and x @ W^T (bias=False) one Linear each, with the same numbers', () => {
    const { graph, counts, diff } = fusedAndUnfused(trace(new Mlp(), { x: { dtype: 'float32', shape: ['B', 2, 4] } }), { B: 3 });
    expect([counts.linear, counts['linear-no-bias']]).toEqual([1, 1]);
    expect(opsOf(graph).filter((o) => o === 'Linear')).toHaveLength(2);
    // h @ W (no transpose) stays a MatMul
    expect(opsOf(graph)).toContain('MatMul');
    expect(diff).toBeLessThanOrEqual(1e-6);
  });
});
