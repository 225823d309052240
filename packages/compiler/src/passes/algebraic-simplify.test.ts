import { describe, expect, it } from 'vitest';
import { constant, Module, type Tensor, trace } from '@tessera/graph-dsl';
import { runPasses } from '../pass.ts';
import { opsOf, structure } from '../testing.ts';
import { algebraicSimplify } from './algebraic-simplify.ts';
import { dce } from './dce.ts';

const spec = { x: { dtype: 'float32' as const, shape: ['B', 4] } };
const simplify = (graph: Parameters<typeof runPasses>[0], explain = false) => runPasses(graph, [algebraicSimplify(), dce()], { explain });

describe('algebraic-simplify', () => {
  it('removes x*1, 1*x, x+0, x-0, x/1 and -(-x)', () => {
    class Noisy extends Module {
      forward(x: Tensor<'float32', 2>) {
        const one = constant(x, 1, 'float32');
        return one.mul(x.mul(1).add(0).sub(0).div(1).neg().neg()).relu();
      }
    }
    class Clean extends Module {
      forward(x: Tensor<'float32', 2>) {
        return x.relu();
      }
    }
    const { graph, stats } = simplify(trace(new Noisy(), spec));
    expect(structure(graph)).toBe(structure(trace(new Clean(), spec)));
    expect(stats[0]!.counts).toEqual({ 'mul-one': 2, 'add-zero': 1, 'sub-zero': 1, 'div-one': 1, 'double-neg': 1 });
  });

  it('keeps a value other nodes still use, and says why in explain mode', () => {
    class Shared extends Module {
      forward(x: Tensor<'float32', 2>) {
        const y = x.neg();
        return y.neg().add(y);
      }
    }
    const graph = trace(new Shared(), spec);
    const { graph: out, stats } = simplify(graph, true);
    expect(structure(out)).toBe(structure(graph));
    expect(stats[0]!.counts).toEqual({});
    expect(stats[0]!.notes.join('\n')).toMatch(/double-neg: near-match at Neg %\d+ \(.*algebraic-simplify\.test\.ts:\d+:\d+\): intermediate %\d+ \(Neg\) is also used outside the pattern \(2 uses, 1 inside\)/);
  });

  it('refuses x*1 when broadcasting makes the result larger than x', () => {
    class Broadcast extends Module {
      forward(x: Tensor<'float32', 2>) {
        return x.mul(constant(x, [1, 1, 1, 1, 1, 1, 1, 1], 'float32', [2, 1, 4]));
      }
    }
    const { graph, stats } = simplify(trace(new Broadcast(), spec), true);
    expect(opsOf(graph)).toEqual(['Constant', 'Mul']);
    expect(stats[0]!.notes).toContainEqual(expect.stringMatching(/mul-one: .*the result \[2, B, 4\] is broadcast larger than x \[B, 4\]/));
  });

  it('composes and cancels transposes and reshapes', () => {
    class Moves extends Module {
      forward(x: Tensor<'float32', 3>) {
        const back = x.transpose(1, 2).transpose(1, 2); // identity
        const rotated = x.permute(1, 2, 0).permute(1, 2, 0); // composes to permute(2, 0, 1)
        const flat = x.reshape(['B', 12]).reshape(['B', 3, 4]).unsqueeze(0).reshape(['B', 12]);
        return [back.relu(), rotated.relu(), flat];
      }
    }
    class Direct extends Module {
      forward(x: Tensor<'float32', 3>) {
        const rotated = x.permute(2, 0, 1);
        const flat = x.reshape(['B', 12]);
        return [x.relu(), rotated.relu(), flat];
      }
    }
    const input = { x: { dtype: 'float32' as const, shape: ['B', 3, 4] } };
    const { graph } = simplify(trace(new Moves(), input));
    expect(structure(graph)).toBe(structure(trace(new Direct(), input)));
  });
});
