import { describe, expect, it } from 'vitest';
import { cat, Module, type Tensor, trace } from '@tessera/graph-dsl';
import { fusedAndUnfused, opsOf } from '../testing.ts';

type Map4 = Tensor<'float32', 4>;

/** Swin's patch merging on a 4x6 map: each 2x2 neighbourhood into the channels, in the order given as (row, column) parities. */
class Merge extends Module {
  constructor(readonly order: readonly (readonly [number, number])[]) {
    super();
  }
  forward(x: Map4) {
    const pick = (r: number, c: number) => x.slice(1, r, undefined, 2).slice(2, c, undefined, 2);
    return cat(this.order.map(([r, c]) => pick(r, c)), -1);
  }
}

const f32 = (shape: (number | string)[]) => ({ dtype: 'float32' as const, shape });

describe('patch-merge fusion', () => {
  for (const [label, order] of [
    ["torchvision's column-major order", [[0, 0], [1, 0], [0, 1], [1, 1]]],
    ['row-major order', [[0, 0], [0, 1], [1, 0], [1, 1]]],
  ] as const) {
    it(`makes the four strided picks one reshape, transpose and reshape (${label}), with the same numbers`, () => {
      const { graph, counts, diff } = fusedAndUnfused(trace(new Merge(order), { x: f32(['B', 4, 6, 3]) }), { B: 2 });
      expect(counts['patch-merge']).toBe(1);
      expect(opsOf(graph)).toEqual(['Reshape', 'Transpose', 'Reshape']);
      expect(diff).toBe(0);
    });
  }

  it('leaves another order of the neighbourhood alone, and says why', () => {
    const { counts, notes, diff } = fusedAndUnfused(trace(new Merge([[1, 1], [1, 0], [0, 1], [0, 0]]), { x: f32(['B', 4, 6, 3]) }), { B: 2 });
    expect(counts['patch-merge']).toBe(0);
    expect(notes.join('\n')).toMatch(/patch-merge: near-match .*order 11, 10, 01, 00/);
    expect(diff).toBe(0);
  });
});
