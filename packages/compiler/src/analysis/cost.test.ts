import { describe, expect, it } from 'vitest';
import { dimToString, Module, nn, type Tensor, trace } from '@tessera/graph-dsl';
import { graphFlops } from './cost.ts';

describe('FLOPs', () => {
  it('counts a Linear as 2*in*out per row plus the bias add, symbolically in the batch', () => {
    class M extends Module {
      readonly fc = new nn.Linear(16, 32);
      forward(x: Tensor<'float32', 2>) {
        return this.fc.forward(x);
      }
    }
    const graph = trace(new M(), { x: { dtype: 'float32', shape: ['B', 16] } });
    expect(dimToString(graphFlops(graph))).toBe(`${2 * 16 * 32 + 32}*B`);
  });
});
