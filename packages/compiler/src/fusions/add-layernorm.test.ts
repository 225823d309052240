import { describe, expect, it } from 'vitest';
import { Module, nn, type Tensor, trace } from '@tessera/graph-dsl';
import { fusedAndUnfused, opsOf } from '../testing.ts';

/** Pre-norm residual stream: the sum goes on after the norm reads it; and a broadcast add that is no residual. */
class Residuals extends Module {
  readonly n1 = new nn.LayerNorm(4);
  readonly n2 = new nn.LayerNorm(4);
  forward(x: Tensor<'float32', 3>, y: Tensor<'float32', 3>, row: Tensor<'float32', 1>) {
    const s = x.add(y);
    return { normed: this.n1.forward(s), stream: s.mul(2), broadcast: this.n2.forward(x.add(row)) };
  }
}

describe('add-layernorm fusion', () => {
  it('makes LayerNorm(x + y) one AddLayerNorm whose sum feeds the rest of the stream; a broadcast add stays', () => {
    const spec = { x: { dtype: 'float32' as const, shape: [2, 3, 4] }, y: { dtype: 'float32' as const, shape: [2, 3, 4] }, row: { dtype: 'float32' as const, shape: [4] } };
    const { graph, counts, notes, diff } = fusedAndUnfused(trace(new Residuals(), spec), {});
    expect(counts['add-layernorm']).toBe(1);
    expect(opsOf(graph).filter((o) => o === 'AddLayerNorm')).toHaveLength(1);
    expect(opsOf(graph).filter((o) => o === 'LayerNorm')).toHaveLength(1);
    expect(notes.join('\n')).toMatch(/add-layernorm: near-match .*: (x|residual) \[4\] is broadcast to the sum \[2, 3, 4\]/);
    expect(diff).toBeLessThanOrEqual(1e-6);
  });
});
