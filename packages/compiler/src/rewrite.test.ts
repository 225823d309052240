import { describe, expect, it } from 'vitest';
import { type AttrsOf, constant, type Graph, Module, nn, type Tensor, trace } from '@tessera/graph-dsl';
import { runPasses } from './pass.ts';
import { dce } from './passes/dce.ts';
import { cst, op, type Rule, rewritePass, v } from './rewrite.ts';
import { opsOf, structure } from './testing.ts';

const run = (graph: Graph, rules: Rule[], explain = false) => runPasses(graph, [rewritePass('test-rules', rules), dce()], { explain });

/** Linear's matmul + bias add with the bias made 2-d: exercises emitting new nodes from bound values and named nodes. */
const biasFirst: Rule = {
  name: 'bias-2d',
  pattern: op('Add', op('MatMul', v('x'), op('Transpose', v('w')).as('wT')), v('b')),
  check: (m) => (m.type('b').shape.length === 1 ? undefined : `bias has rank ${m.type('b').shape.length}, want 1`),
  rewrite: (m, b) => {
    const perm = (m.node('wT').attrs as AttrsOf<'Transpose'>).perm;
    const y = b.op('MatMul', [b.value('x'), b.op('Transpose', [b.value('w')], { perm })], {});
    return b.op('Add', [y, b.op('Reshape', [b.value('b')], { shape: [1, ...m.type('b').shape] })], {});
  },
};

class Lin extends Module {
  readonly fc = new nn.Linear(4, 3);
  forward(x: Tensor<'float32', 2>) {
    return this.fc.forward(x);
  }
}

describe('rewrite engine', () => {
  const spec = { x: { dtype: 'float32' as const, shape: ['B', 4] } };

  it('matches a pattern written as op calls, binds variables and named nodes, and counts firings', () => {
    class Lin2d extends Lin {
      override forward(x: Tensor<'float32', 2>) {
        return x.matmul(this.fc.weight.mT).add(this.fc.bias!.reshape([1, 3]));
      }
    }
    const { graph: out, stats } = run(trace(new Lin(), spec), [biasFirst]);
    expect(structure(out)).toBe(structure(trace(new Lin2d(), spec)));
    expect(stats[0]!.counts).toEqual({ 'bias-2d': 1 });
  });

  it('matches commutative ops in either operand order', () => {
    class BiasLeft extends Module {
      readonly fc = new nn.Linear(4, 3, false);
      readonly b = new nn.LayerNorm(3).bias;
      forward(x: Tensor<'float32', 2>) {
        return this.b.add(this.fc.forward(x));
      }
    }
    expect(run(trace(new BiasLeft(), spec), [biasFirst]).stats[0]!.counts).toEqual({ 'bias-2d': 1 });
  });

  it('requires a variable used twice to see one value', () => {
    const square: Rule = { name: 'square', pattern: op('Mul', v('x'), v('x')), rewrite: (_, b) => b.op('Pow', [b.value('x'), b.constant(constant2)], {}) };
    const constant2 = { dtype: 'float32' as const, shape: [], data: new Float32Array([2]) };
    class Squares extends Module {
      forward(x: Tensor<'float32', 2>, y: Tensor<'float32', 2>) {
        return x.mul(x).add(x.mul(y));
      }
    }
    const graph = trace(new Squares(), { ...spec, y: spec.x });
    const { graph: out, stats } = run(graph, [square], true);
    expect(opsOf(out)).toEqual(['Constant', 'Pow', 'Mul', 'Add']);
    expect(stats[0]!.notes.join('\n')).toMatch(/square: near-match at Mul %\d+ .*variable x would be both %\d+ and %\d+/);
  });

  it('refuses by check with a reason, and explains structural near-misses', () => {
    const rank1Only: Rule = { ...biasFirst, name: 'rank1' };
    class Bias2d extends Module {
      readonly fc = new nn.Linear(4, 3, false);
      forward(x: Tensor<'float32', 2>) {
        return this.fc.forward(x).add(constant(x, [0, 0, 0], 'float32', [1, 3])).add(x.matmul(x.mT).sum(1, true));
      }
    }
    const { stats } = run(trace(new Bias2d(), spec), [rank1Only], true);
    const notes = stats[0]!.notes.join('\n');
    expect(stats[0]!.counts).toEqual({});
    expect(notes).toMatch(/rank1: near-match at Add %\d+ .*: bias has rank 2, want 1/);
    expect(notes).toMatch(/rank1: near-match at Add %\d+ .*input 0 of Add %\d+: %\d+ is produced by Add, pattern wants MatMul/);
  });

  it('matches constants by value and rewrites repeatedly until nothing fires', () => {
    const negNeg: Rule = { name: 'neg-neg', pattern: op('Neg', op('Neg', v('x'))), rewrite: (_, b) => b.value('x') };
    const timesTwo: Rule = {
      name: 'times-two',
      pattern: op('Mul', v('x'), cst(2).as('two')),
      check: (m) => (m.constant('two').shape.length === 0 ? undefined : 'not a scalar'),
      rewrite: (_, b) => b.op('Add', [b.value('x'), b.value('x')], {}),
    };
    class Chain extends Module {
      forward(x: Tensor<'float32', 2>) {
        return x.neg().neg().neg().neg().neg().mul(2).mul(constant(x, 3, 'float32'));
      }
    }
    const { graph, stats } = run(trace(new Chain(), spec), [negNeg, timesTwo]);
    expect(opsOf(graph)).toEqual(['Neg', 'Add', 'Constant', 'Mul']);
    expect(stats[0]!.counts).toEqual({ 'neg-neg': 2, 'times-two': 1 });
  });

  it('rejects a rule whose replacement has another type', () => {
    const wrong: Rule = { name: 'wrong', pattern: op('Relu', v('x')), rewrite: (_, b) => b.op('ReduceSum', [b.value('x')], { axes: [0], keepdims: false }) };
    class R extends Module {
      forward(x: Tensor<'float32', 2>) {
        return x.relu();
      }
    }
    expect(() => run(trace(new R(), spec), [wrong])).toThrow(/rule wrong replaced Relu %\d+ .* of type f32\[B, 4\] by a value of type f32\[4\]/);
  });
});
