import { describe, expect, it } from 'vitest';
import { compile } from '@tessera/compiler';
import { hostTensor, Module, type Tensor, trace } from '@tessera/graph-dsl';
import { Session } from '@tessera/runtime-tfjs';
import { PositionalEncoding, sinusoidTable } from './positional-encoding.ts';

describe('sinusoidal positional encoding', () => {
  it('P[i, 2j] = sin(i / 10000^(2j/d)), P[i, 2j+1] = cos(...), 1000 rows by default', () => {
    const d = 8;
    const P = sinusoidTable(1000, d);
    expect(P.length).toBe(1000 * d);
    expect(P[0]).toBe(0);
    expect(P[1]).toBe(1);
    expect(P[999 * d + 2]).toBeCloseTo(Math.sin(999 / 10000 ** (2 / 8)), 6);
    expect(P[999 * d + 7]).toBeCloseTo(Math.cos(999 / 10000 ** (6 / 8)), 6);
  });

  it('adds the first T rows, folded to a constant once T is known', async () => {
    class M extends Module {
      readonly pe = new PositionalEncoding(4, 0.5);
      forward(x: Tensor<'float32', 3>) {
        return this.pe.forward(x);
      }
    }
    const traced = trace(new M(), { x: { dtype: 'float32', shape: ['B', 3, 4] } });
    const { graph } = compile(traced, {});
    expect(graph.nodes.map((n) => n.op)).toEqual(['Constant', 'Add']); // gather(arange(3)) folded, dropout gone in eval mode
    const s = await Session.create(graph);
    const { output } = await s.run({ x: hostTensor('float32', [1, 3, 4]) });
    s.dispose();
    expect(Array.from(output!.data)).toEqual(Array.from(sinusoidTable(3, 4)).map((v) => expect.closeTo(v, 6)));
  });

  it('refuses a sequence longer than max_len, and an odd width', () => {
    class M extends Module {
      readonly pe = new PositionalEncoding(4, 0, 10);
      forward(x: Tensor<'float32', 3>) {
        return this.pe.forward(x);
      }
    }
    expect(() => trace(new M(), { x: { dtype: 'float32', shape: ['B', 11, 4] } })).toThrow(/11 steps is longer than max_len 10/);
    expect(() => new PositionalEncoding(5)).toThrow(/must be even/);
  });
});
