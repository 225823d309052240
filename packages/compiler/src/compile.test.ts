import { describe, expect, it } from 'vitest';
import { arange, F, type Graph, initialWeights, Module, nn, type Tensor, trace, typeToString, where } from '@tessera/graph-dsl';
import { fusionPasses } from './fusions/index.ts';
import { compile } from './compile.ts';
import { interpret } from './host/interpret.ts';
import { dumpTo } from './pass.ts';
import { maxAbsDiff, opsOf, randomInputs } from './testing.ts';

/** A small causal transformer block: attention with a mask built from ranges, GELU MLP, dropout, residuals. */
class Block extends Module {
  readonly norm1 = new nn.LayerNorm(8);
  readonly qkv = new nn.Linear(8, 24);
  readonly proj = new nn.Linear(8, 8);
  readonly norm2 = new nn.LayerNorm(8);
  readonly fc1 = new nn.Linear(8, 16);
  readonly fc2 = new nn.Linear(16, 8);
  readonly drop = new nn.Dropout(0.1);
  forward(x: Tensor<'float32', 3>) {
    const [b, t] = [x.size(0), x.size(1)];
    const qkv = this.qkv.forward(this.norm1.forward(x)).reshape([b, t, 3, 2, 4]).permute(2, 0, 3, 1, 4);
    const [q, k, v] = [0, 1, 2].map((i) => qkv.slice(0, i, i + 1).reshape([b, 2, t, 4]));
    const i = arange(x, t).to('int32');
    const future = i.unsqueeze(1).lt(i);
    const scores = q!.matmul(k!.mT).mul(0.5).mul(1).add(where(future, -1e9, 0));
    const attn = this.drop.forward(scores.softmax(-1)).matmul(v!).transpose(1, 2).reshape([b, t, 8]);
    const h = x.add(this.proj.forward(attn));
    const mlp = this.fc2.forward(F.gelu(this.fc1.forward(this.norm2.forward(h))));
    return h.add(this.drop.forward(mlp));
  }
}

const spec = { x: { dtype: 'float32' as const, shape: ['B', 'T', 8] } };

function sameNumbers(before: Graph, after: Graph, sizes: Record<string, number>, seed: number) {
  const inputs = randomInputs(before, sizes, seed);
  const weights = initialWeights(before, seed);
  const a = interpret(before, inputs, { weights });
  const b = interpret(after, inputs, { weights });
  return Math.max(...Object.keys(a).map((k) => maxAbsDiff(a[k]!, b[k]!)));
}

describe('compile', () => {
  it('runs the default pipeline in order, and keeps the numbers', () => {
    const graph = trace(new Block(), spec);
    const { graph: out, stats } = compile(graph, { bindings: { T: 5 } });
    expect(stats.map((s) => s.pass)).toEqual(['bind-shapes', 'eval-mode', 'algebraic-simplify', 'constant-fold', 'cse', ...fusionPasses().map((p) => p.name), 'dce']);
    expect(stats.find((s) => s.pass === 'eval-mode')!.counts).toEqual({ 'dropout-removed': 2 });
    expect(stats.find((s) => s.pass === 'algebraic-simplify')!.counts['mul-one']).toBe(1);
    expect(out.nodes.length).toBeLessThan(graph.nodes.length);
    // the mask is one constant now: no Range, Less or Where left
    expect(opsOf(out).filter((op) => ['Range', 'Less', 'Where', 'Dropout'].includes(op))).toEqual([]);
    for (const seed of [1, 2, 3]) expect(sameNumbers(graph, out, { B: 2, T: 5 }, seed)).toBeLessThan(1e-5);
  });

  it('keeps a dynamic batch symbolic', () => {
    const { graph } = compile(trace(new Block(), spec), { bindings: { T: 5 } });
    expect(typeToString(graph.types.get(graph.inputs[0]!.value)!)).toBe('f32[B, 5, 8]');
    expect(typeToString(graph.types.get(graph.outputs[0]!.value)!)).toBe('f32[B, 5, 8]');
    // and it runs for any batch
    for (const B of [1, 3]) expect(interpret(graph, randomInputs(graph, { B })).output!.shape).toEqual([B, 5, 8]);
  });

  it('keeps Dropout in train mode and leaves an all-symbolic graph runnable', () => {
    const graph = trace(new Block(), spec);
    const { graph: train } = compile(graph, { mode: 'train' });
    expect(opsOf(train).filter((op) => op === 'Dropout')).toHaveLength(2);
    // nothing bound: the mask's Range to T stays
    expect(opsOf(train)).toContain('Range');
    // (the host interpreter runs Dropout as the identity)
    expect(sameNumbers(graph, train, { B: 2, T: 3 }, 4)).toBeLessThan(1e-5);
  });

  it('dumps the IR before and after each pass', () => {
    let text = '';
    const { stats } = compile(trace(new Block(), spec), { dump: dumpTo((t) => (text += t)) });
    expect(text.match(/^\/\/ ----- (before|after) [a-z-]+ -----$/gm)).toHaveLength(2 * stats.length);
    expect(text).toContain('// ----- after constant-fold -----\ngraph(%x: f32[B, T, 8]) {');
  });
});
