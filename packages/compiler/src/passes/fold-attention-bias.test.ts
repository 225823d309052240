import { describe, expect, it } from 'vitest';
import { constant, F, initialWeights, Module, nn, Parameter, type Tensor, trace } from '@tessera/graph-dsl';
import { compile } from '../compile.ts';
import { interpret } from '../host/interpret.ts';
import { maxAbsDiff, opsOf, randomInputs } from '../testing.ts';

/** Attention with a bias looked up from a learned table, plus a constant mask: Swin's shape of bias, small. */
class TableBias extends Module {
  readonly table = new Parameter([5, 2], { kind: 'normal', mean: 0, std: 1 });
  readonly proj = new nn.Linear(4, 4);
  forward(q: Tensor<'float32', 4>) {
    const index = constant(q, [0, 1, 2, 3, 4, 3, 2, 1, 0], 'int32', [9]);
    const bias = this.table.gather(0, index).reshape([3, 3, 2]).permute(2, 0, 1).unsqueeze(0);
    const mask = constant(q, [0, -100, 0, 0, 0, -100, 0, 0, 0], 'float32', [3, 3]);
    return F.scaledDotProductAttention(q, q, q, { attnMask: bias.add(mask) as Tensor<'float32'> });
  }
}

describe('fold-attention-bias', () => {
  const spec = { q: { dtype: 'float32' as const, shape: ['B', 2, 3, 4] } };

  it('folds a bias computed from parameters and constants into one constant, with the same numbers', () => {
    const traced = trace(new TableBias(), spec);
    const weights = initialWeights(traced, 1);
    const folded = compile(traced, { weights });
    const kept = compile(traced);
    expect(folded.stats.find((s) => s.pass === 'fold-attention-bias')!.counts).toEqual({ 'bias-folded': 1 });
    expect(opsOf(folded.graph)).not.toContain('Gather');
    expect(opsOf(kept.graph)).toContain('Gather');
    const inputs = randomInputs(traced, { B: 2 });
    const [a, b] = [interpret(folded.graph, inputs, { weights }), interpret(kept.graph, inputs, { weights })];
    expect(maxAbsDiff(a.output!, b.output!)).toBeLessThanOrEqual(1e-6);
  });

  it('keeps the lookup in training, where the table learns', () => {
    const traced = trace(new TableBias(), spec);
    const { graph, stats } = compile(traced, { weights: initialWeights(traced, 1), mode: 'train' });
    expect(stats.map((s) => s.pass)).not.toContain('fold-attention-bias');
    expect(opsOf(graph)).toContain('Gather');
  });
});
