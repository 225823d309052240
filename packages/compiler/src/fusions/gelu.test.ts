import { describe, expect, it } from 'vitest';
import { F, Module, type Tensor, trace } from '@tessera/graph-dsl';
import { fusedAndUnfused, opsOf } from '../testing.ts';

class Gelus extends Module {
  forward(x: Tensor<'float32', 2>) {
    // F.gelu's arrangement, torch's docs' arrangement, and the tanh approximation (not the exact GELU: left alone)
    const torchDocs = x.mul(0.5).mul(x.div(Math.SQRT2).erf().add(1));
    const tanh = x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI)).tanh().add(1).mul(x).mul(0.5);
    return { a: F.gelu(x), b: torchDocs, c: tanh };
  }
}

describe('gelu fusion', () => {
  it('makes both arrangements of the exact GELU one Gelu, and leaves the tanh approximation', () => {
    const { graph, counts, diff } = fusedAndUnfused(trace(new Gelus(), { x: { dtype: 'float32', shape: [3, 5] } }), {});
    expect(counts.gelu).toBe(2);
    expect(opsOf(graph).filter((o) => o === 'Gelu')).toHaveLength(2);
    expect(opsOf(graph)).toContain('Tanh');
    expect(opsOf(graph)).not.toContain('Erf');
    expect(diff).toBeLessThanOrEqual(1e-6);
  });
});
