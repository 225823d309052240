import { describe, expect, it } from 'vitest';
import { Module, nn, type Tensor, trace } from '@tessera/graph-dsl';
import { runPasses } from '../pass.ts';
import { structure } from '../testing.ts';
import { dce } from './dce.ts';

class TwoHeads extends Module {
  readonly body = new nn.Linear(4, 4);
  readonly head = new nn.Linear(4, 2);
  readonly unusedHead = new nn.Linear(4, 3);
  constructor(readonly both: boolean) {
    super();
  }
  forward(x: Tensor<'float32', 2>) {
    const h = this.body.forward(x).tanh();
    const extra = this.unusedHead.forward(h).softmax(-1);
    return this.both ? [this.head.forward(h), extra] : [this.head.forward(h)];
  }
}

/** The same parameters, but the forward never touches unusedHead. */
class OneHead extends TwoHeads {
  override forward(x: Tensor<'float32', 2>) {
    return [this.head.forward(this.body.forward(x).tanh())];
  }
}

describe('dce', () => {
  it('removes nodes that reach no output and keeps unused parameters (the state_dict)', () => {
    const graph = trace(new TwoHeads(false), { x: { dtype: 'float32', shape: ['B', 4] } });
    const { graph: out, stats } = runPasses(graph, [dce()]);
    expect(structure(out)).toBe(structure(trace(new OneHead(false), { x: { dtype: 'float32', shape: ['B', 4] } })));
    expect(out.params.map((p) => p.name)).toContain('unusedHead.weight');
    expect(stats[0]!.counts).toEqual({ removed: 4 });
  });

  it('keeps everything an output reads', () => {
    const graph = trace(new TwoHeads(true), { x: { dtype: 'float32', shape: ['B', 4] } });
    expect(structure(runPasses(graph, [dce()]).graph)).toBe(structure(graph));
  });
});
