import { describe, expect, it } from 'vitest';
import { Module, nn, type Tensor, trace } from '@tessera/graph-dsl';
import { runPasses } from '../pass.ts';
import { opsOf, structure } from '../testing.ts';
import { evalMode } from './eval-mode.ts';

class Mlp extends Module {
  readonly fc1 = new nn.Linear(4, 8);
  readonly drop: nn.Dropout;
  readonly fc2 = new nn.Linear(8, 4);
  constructor(p: number) {
    super();
    this.drop = new nn.Dropout(p);
  }
  forward(x: Tensor<'float32', 2>) {
    return this.drop.forward(this.fc2.forward(this.drop.forward(this.fc1.forward(x).relu())));
  }
}

describe('eval-mode', () => {
  it('removes Dropout and rewires its uses to its input', () => {
    const train = trace(new Mlp(0.1), { x: { dtype: 'float32', shape: ['B', 4] } });
    expect(opsOf(train).filter((op) => op === 'Dropout')).toHaveLength(2);
    const { graph, stats } = runPasses(train, [evalMode()]);
    // the same model without dropout: what the eval graph must be
    expect(structure(graph)).toBe(structure(trace(new Mlp(0), { x: { dtype: 'float32', shape: ['B', 4] } })));
    expect(stats[0]!.counts).toEqual({ 'dropout-removed': 2 });
  });
});
