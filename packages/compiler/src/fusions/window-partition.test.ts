import { describe, expect, it } from 'vitest';
import { Module, type Tensor, trace } from '@tessera/graph-dsl';
import { fusedAndUnfused, opsOf } from '../testing.ts';

type Map4 = Tensor<'float32', 4>;

/** torchvision's shifted-window partition and reverse around a per-window op, on a 6x4 map with 2x2 windows. */
class Windows extends Module {
  constructor(readonly shift: number) {
    super();
  }
  forward(x: Map4) {
    const B = x.size(0);
    const rolled = this.shift ? x.roll([-this.shift, -this.shift], [1, 2]) : x;
    const windows = rolled.reshape([B, 3, 2, 2, 2, 5]).permute(0, 1, 3, 2, 4, 5).reshape([-1, 4, 5]);
    const mixed = windows.softmax(1);
    const back = mixed.reshape([B, 3, 2, 2, 2, 5]).permute(0, 1, 3, 2, 4, 5).reshape([B, 6, 4, 5]) as Map4;
    return this.shift ? back.roll([this.shift, this.shift], [1, 2]) : back;
  }
}

describe('window-partition and window-reverse fusions', () => {
  for (const shift of [0, 1]) {
    it(`make the ${shift ? 'shifted ' : ''}partition and its reverse one op each, with the same numbers`, () => {
      const { graph, counts, diff } = fusedAndUnfused(trace(new Windows(shift), { x: { dtype: 'float32', shape: ['B', 6, 4, 5] } }), { B: 2 });
      expect([counts['window-partition'], counts['window-reverse']]).toEqual([1, 1]);
      expect(opsOf(graph)).toEqual(['WindowPartition', 'Softmax', 'WindowReverse']);
      const partition = graph.nodes[0]!;
      expect(partition.attrs).toEqual({ window: [2, 2], shift: [shift, shift] });
      expect(diff).toBe(0);
    });
  }
});
