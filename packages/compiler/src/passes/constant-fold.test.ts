import { describe, expect, it } from 'vitest';
import { arange, cat, constant, F, type HostTensor, hostTensor, Module, type Tensor, trace, where } from '@tessera/graph-dsl';
import { interpret } from '../host/interpret.ts';
import { runPasses } from '../pass.ts';
import { maxAbsDiff, opsOf, randomInputs, structure } from '../testing.ts';
import { bindShapes } from './bind-shapes.ts';
import { constantFold } from './constant-fold.ts';
import { dce } from './dce.ts';

/** A causal mask built from ranges: shape-only, so it must fold to one constant. */
class Causal extends Module {
  constructor(readonly n: number | string) {
    super();
  }
  forward(scores: Tensor<'float32', 2>) {
    const i = arange(scores, this.n);
    const future = i.unsqueeze(1).lt(i); // row < column: a later position
    return scores.add(where(future, -Infinity, 0));
  }
}

const NEG = -Infinity;
const causal = [0, NEG, NEG, NEG, 0, 0, NEG, NEG, 0, 0, 0, NEG, 0, 0, 0, 0];

/** The folded form written by hand. */
class CausalFolded extends Module {
  forward(scores: Tensor<'float32', 2>) {
    return scores.add(constant(scores, causal, 'float32', [4, 4]));
  }
}

const fold = (graph: Parameters<typeof runPasses>[0], ...more: Parameters<typeof constantFold>) => runPasses(graph, [constantFold(...more), dce()]);

describe('constant-fold', () => {
  it('folds a shape-only mask subgraph (Range, comparison, Where) into one Constant', () => {
    const graph = trace(new Causal(4), { scores: { dtype: 'float32', shape: [4, 4] } });
    expect(opsOf(graph)).toEqual(['Range', 'Reshape', 'Less', 'Constant', 'Constant', 'Where', 'Add']);
    const { graph: out, stats } = fold(graph);
    expect(structure(out)).toBe(structure(trace(new CausalFolded(), { scores: { dtype: 'float32', shape: [4, 4] } })));
    const c = out.nodes[0]!.attrs as { value: HostTensor };
    expect(Array.from(c.value.data)).toEqual(causal);
    expect(stats[0]!.counts).toEqual({ folded: 4 });
  });

  it('does not fold a Range with a symbolic end, but does once the size is bound', () => {
    const graph = trace(new Causal('T'), { scores: { dtype: 'float32', shape: ['T', 'T'] } });
    expect(opsOf(fold(graph).graph)).toEqual(opsOf(graph));
    const bound = runPasses(graph, [bindShapes({ T: 4 }), constantFold(), dce()]).graph;
    expect(structure(bound)).toBe(structure(trace(new CausalFolded(), { scores: { dtype: 'float32', shape: [4, 4] } })));
  });

  it('folds data movement and arithmetic on constants to the values the unfolded graph computes', () => {
    class Index extends Module {
      forward(x: Tensor<'float32', 1>) {
        const i = arange(x, 3).to('int32');
        const grid = i.unsqueeze(1).mul(3).add(i.unsqueeze(0)); // 0..8 in a 3x3 grid
        const rolled = grid.roll([1, 1], [0, 1]).transpose(0, 1).reshape([9]);
        const picked = cat([rolled.slice(0, 0, 4), rolled.slice(0, 5)], 0); // 8 of them
        const table = constant(x, [10, 11, 12, 13, 14, 15, 16, 17, 18], 'float32');
        const gathered = table.gather(0, picked).expand([2, 8]).sum(0).softmax(0);
        const erf = picked.to('float32').div(8).erf().mul(gathered.amax(0, true)).sub(gathered.mean(0, true));
        const flags = picked.ge(4).logicalAnd(picked.le(6).logicalNot()).logicalOr(picked.eq(0)).to('float32');
        return x.add(erf.maximum(gathered.sqrt()).pow(2).exp().log().sigmoid().tanh().sin().cos().abs().neg().relu().minimum(gathered).add(flags));
      }
    }
    const graph = trace(new Index(), { x: { dtype: 'float32', shape: [8] } });
    const { graph: out } = fold(graph);
    expect(opsOf(out)).toEqual(['Constant', 'Add']);
    const inputs = randomInputs(graph, {});
    expect(maxAbsDiff(interpret(graph, inputs).output!, interpret(out, inputs).output!)).toBeLessThan(1e-6);
  });

  it('leaves impure ops, ops on non-constants and results over the size cap', () => {
    class Mixed extends Module {
      forward(x: Tensor<'float32', 2>) {
        const noisy = F.dropout(constant(x, 1, 'float32').expand([2, 2]), 0.5);
        const big = constant(x, 0, 'float32').expand([64, 64]);
        return x.add(noisy).relu().add(big.sum([0, 1]));
      }
    }
    const graph = trace(new Mixed(), { x: { dtype: 'float32', shape: [2, 2] } });
    expect(opsOf(fold(graph, { maxElements: 1000 }).graph)).toEqual(['Constant', 'Dropout', 'Constant', 'Expand', 'Add', 'Relu', 'ReduceSum', 'Add']);
    expect(opsOf(fold(graph).graph)).toEqual(['Constant', 'Dropout', 'Add', 'Relu', 'Constant', 'Add']);
  });

  it('folds graphs whose output is itself constant', () => {
    class Const extends Module {
      forward(x: Tensor<'float32', 1>) {
        return [x, arange(x, 3).to('float32').mul(2)];
      }
    }
    const out = fold(trace(new Const(), { x: { dtype: 'float32', shape: [3] } })).graph;
    expect(opsOf(out)).toEqual(['Constant']);
    expect((out.nodes[0]!.attrs as { value: HostTensor }).value).toEqual(hostTensor('float32', [3], [0, 2, 4]));
  });
});
