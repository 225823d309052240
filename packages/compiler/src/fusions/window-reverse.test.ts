import { describe, expect, it } from 'vitest';
import { Module, type Tensor, trace } from '@tessera/graph-dsl';
import { fusedAndUnfused, opsOf } from '../testing.ts';

/** Windows (B*6, 4, 5) back to a (B, 6, 4, 5) map, rolled on the map's axes or, wrongly for this rule, on others. */
class Reverse extends Module {
  constructor(readonly axes: [number, number]) {
    super();
  }
  forward(w: Tensor<'float32', 3>) {
    const map = w.reshape([-1, 3, 2, 2, 2, 5]).permute(0, 1, 3, 2, 4, 5).reshape([-1, 6, 4, 5]);
    return map.roll([1, 1], this.axes);
  }
}

describe('window-reverse fusion', () => {
  it('takes the reverse shift in', () => {
    const { graph, counts, diff } = fusedAndUnfused(trace(new Reverse([1, 2]), { w: { dtype: 'float32', shape: [12, 4, 5] } }), {});
    expect(counts['window-reverse']).toBe(1);
    expect(opsOf(graph)).toEqual(['WindowReverse']);
    expect(graph.nodes[0]!.attrs).toEqual({ window: [2, 2], shift: [1, 1], size: [6, 4] });
    expect(diff).toBe(0);
  });

  it("fuses the reverse without a roll over other axes, and says why the roll stays", () => {
    const { graph, counts, notes, diff } = fusedAndUnfused(trace(new Reverse([2, 3]), { w: { dtype: 'float32', shape: [12, 4, 5] } }), {});
    expect(counts['window-reverse']).toBe(1);
    expect(opsOf(graph)).toEqual(['WindowReverse', 'Roll']);
    expect(notes.join('\n')).toMatch(/window-reverse: near-match at Roll .*: the roll is over axes \[2, 3\], not the map's \(1, 2\)/);
    expect(diff).toBe(0);
  });
});
