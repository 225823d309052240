import { describe, expect, it } from 'vitest';
import { F, Module, nn, type Tensor, trace } from '@tessera/graph-dsl';
import { runPasses } from '../pass.ts';
import { opsOf, structure } from '../testing.ts';
import { cse } from './cse.ts';
import { dce } from './dce.ts';

/** Computes one projection twice, and the same scale constant twice. */
class Twice extends Module {
  readonly proj = new nn.Linear(4, 4);
  forward(x: Tensor<'float32', 3>) {
    const a = this.proj.forward(x).mul(0.5);
    const b = this.proj.forward(x).mul(0.5);
    return a.add(b);
  }
}

class Once extends Module {
  readonly proj = new nn.Linear(4, 4);
  forward(x: Tensor<'float32', 3>) {
    const a = this.proj.forward(x).mul(0.5);
    return a.add(a);
  }
}

describe('cse', () => {
  const spec = { x: { dtype: 'float32' as const, shape: ['B', 'T', 4] } };

  it('merges nodes with the same op, attrs (constants by content) and inputs', () => {
    const { graph, stats } = runPasses(trace(new Twice(), spec), [cse()]);
    // Once has one constant 0.5 too: the merged graph is Once's
    expect(structure(graph)).toBe(structure(trace(new Once(), spec)));
    // Transpose, MatMul, Add(bias), the constant, Mul
    expect(stats[0]!.counts).toEqual({ merged: 5 });
  });

  it('matches commutative operands in either order', () => {
    class Swapped extends Module {
      forward(x: Tensor<'float32', 2>, y: Tensor<'float32', 2>) {
        return x.add(y).mul(y.add(x));
      }
    }
    const graph = runPasses(trace(new Swapped(), { x: { dtype: 'float32', shape: [2, 2] }, y: { dtype: 'float32', shape: [2, 2] } }), [cse()]).graph;
    expect(opsOf(graph)).toEqual(['Add', 'Mul']);
  });

  it('does not merge different constants, attrs or impure ops', () => {
    class Different extends Module {
      forward(x: Tensor<'float32', 2>) {
        const a = x.mul(2).softmax(0).add(x.mul(3).softmax(0));
        const b = x.softmax(1).add(x.softmax(0));
        const c = F.dropout(x, 0.1).add(F.dropout(x, 0.1));
        return a.add(b).add(c);
      }
    }
    const graph = trace(new Different(), { x: { dtype: 'float32', shape: [3, 3] } });
    const { graph: out, stats } = runPasses(graph, [cse(), dce()]);
    expect(structure(out)).toBe(structure(graph));
    expect(stats[0]!.counts).toEqual({});
  });
});
