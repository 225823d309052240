import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.ts';
import { nn, printGraph, trace } from '../index.ts';
import { Module } from '../module.ts';
import type { Tensor } from '../tensor.ts';
import { keysOf, outputShapes, torchKeys } from './testing.ts';

const x = { x: { dtype: 'float32', shape: ['B', 'T', 4] } } as const;

/** The op names a traced activation records, in order. */
function ops(activation: nn.GELU | nn.ReLU): string[] {
  class Wrap extends Module {
    readonly act = activation;
    forward(t: Tensor<'float32', 3>) {
      return this.act.forward(t);
    }
  }
  return trace(new Wrap(), x).nodes.map((n) => n.op);
}

describe('nn.GELU, nn.ReLU, nn.Identity', () => {
  it('hold no parameters, as in torch, and keep the shape', () => {
    const cases: [string, nn.Layer & Module][] = [["GELU(approximate='tanh')", new nn.GELU('tanh')], ['ReLU()', new nn.ReLU()], ['Identity()', new nn.Identity()]];
    for (const [name, m] of cases) {
      expect(keysOf(m)).toEqual(torchKeys(name));
      expect(outputShapes(m, x, (t) => m.forward(t as Tensor<'float32', 3>))).toEqual({ output: ['B', 'T', '4'] });
    }
  });

  it("GELU is exact (erf) by default and torch's tanh formula with approximate='tanh'", () => {
    expect(ops(new nn.GELU())).toContain('Erf');
    expect(ops(new nn.GELU())).not.toContain('Tanh');
    expect(ops(new nn.GELU('tanh'))).toEqual(expect.arrayContaining(['Pow', 'Tanh']));
    expect(ops(new nn.GELU('tanh'))).not.toContain('Erf');
    expect(ops(new nn.ReLU())).toEqual(['Relu']);
  });

  it("refuses an approximate torch does not know", () => {
    expect(() => new nn.GELU('fast' as 'tanh')).toThrow(new ConfigError("GELU: approximate must be 'none' or 'tanh', got 'fast'"));
  });

  it('Identity records nothing: its output is its input', () => {
    const graph = trace(new nn.Sequential(new nn.Identity()), x);
    expect(graph.nodes).toHaveLength(0);
    expect(printGraph(graph)).toContain('return output=%x');
  });
});
