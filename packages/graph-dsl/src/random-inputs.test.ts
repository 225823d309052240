import { describe, expect, it } from 'vitest';
import { inputSymbols, Module, randomInputs, symbolSizes, type Tensor, trace } from './index.ts';

class Model extends Module {
  forward(x: Tensor<'float32', 3>, lens: Tensor<'int32', 1>, mask: Tensor<'bool', 2>) {
    return x.mul(mask.unsqueeze(-1).to('float32')).sum(-1).add(lens.unsqueeze(-1).to('float32'));
  }
}
const graph = trace(new Model(), {
  x: { dtype: 'float32', shape: ['B', 'T', 4] },
  lens: { dtype: 'int32', shape: ['B'] },
  mask: { dtype: 'bool', shape: ['B', 'T'] },
});

describe('randomInputs', () => {
  it('binds B to the batch and every other symbol to the other size (2 and 5 by default, as tessera run)', () => {
    expect(inputSymbols(graph)).toEqual(['B', 'T']);
    expect(symbolSizes(graph)).toEqual(new Map([['B', 2], ['T', 5]]));
  });
  it('draws each input at its bound shape, the same for a seed and different for another', () => {
    const a = randomInputs(graph, symbolSizes(graph, { batch: 3, other: 6 }), 4);
    expect(Object.fromEntries(Object.entries(a).map(([k, t]) => [k, [t.dtype, t.shape]]))).toEqual({
      x: ['float32', [3, 6, 4]],
      lens: ['int32', [3]],
      mask: ['bool', [3, 6]],
    });
    expect(randomInputs(graph, symbolSizes(graph, { batch: 3, other: 6 }), 4)).toEqual(a);
    expect(Array.from(randomInputs(graph, symbolSizes(graph, { batch: 3, other: 6 }), 5).x!.data)).not.toEqual(Array.from(a.x!.data));
  });
  it('keeps lengths in [1, last size] and the first position of every mask row unmasked', () => {
    const { lens, mask } = randomInputs(graph, symbolSizes(graph, { batch: 64, other: 8 }), 1);
    expect(Array.from(lens!.data).every((n) => n >= 1 && n <= 64)).toBe(true);
    const rows = Array.from({ length: 64 }, (_, r) => Array.from(mask!.data.slice(r * 8, r * 8 + 8)));
    expect(rows.every((row) => row[0] === 0)).toBe(true);
    expect(rows.flat().some((v) => v === 1)).toBe(true);
  });
});
