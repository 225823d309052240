import { describe, expect, it } from 'vitest';
import { initialWeights, nn, trace } from '@tessera/graph-dsl';
import { compile } from '../compile.ts';
import { humanCount, readableFlops, summarize } from './summary.ts';

describe('summarize', () => {
  it('lists the layers by state_dict path with their parameters and output types, and the FLOPs of the compiled graph', () => {
    const module = new nn.Sequential(new nn.Linear(4, 8), new nn.ReLU(), new nn.Linear(8, 3));
    const traced = trace(module, { x: { dtype: 'float32', shape: ['B', 4] } });
    const weights = initialWeights(traced);
    const s = summarize({ name: 'mlp', config: {}, module, traced, graph: compile(traced, { weights }).graph, weights });
    expect(s.layers.map((l) => [l.path, l.type, l.depth, l.parameters, l.output, l.flops])).toEqual([
      ['', 'Sequential', 0, 4 * 8 + 8 + 8 * 3 + 3, 'f32[B, 3]', '120*B'],
      ['0', 'Linear', 0, 40, 'f32[B, 8]', '64*B'],
      ['1', 'ReLU', 0, 0, 'f32[B, 8]', '8*B'],
      ['2', 'Linear', 0, 27, 'f32[B, 3]', '48*B'],
    ]);
    expect(s.parameters).toBe(67);
    expect(s.inputs).toEqual({ x: 'f32[B, 4]' });
    // per batch row: the two fused Linears at 2 FLOPs a multiply-add (the cost model leaves their bias out), and the ReLU
    expect(s.flops).toBe(`${2 * 4 * 8 + 2 * 8 * 3 + 8}*B`);
  });
  it('writes counts as people do', () => {
    expect([humanCount(999), humanCount(12_345), humanCount(86_567_656), humanCount(2_000_000_000)]).toEqual(['999', '12.3K', '86.6M', '2.00G']);
    expect(readableFlops('35240325688*B + 12')).toBe('35.24G*B + 12');
  });
});
