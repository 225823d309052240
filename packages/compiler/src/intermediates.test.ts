import { describe, expect, it } from 'vitest';
import { type AttrsOf, initialWeights, Module, nn, type Tensor, trace } from '@tessera/graph-dsl';
import { interpret } from './host/interpret.ts';
import { exposeIntermediates, IntermediateError, scopesWith } from './intermediates.ts';
import { fusedAndUnfused, maxAbsDiff, randomInputs } from './testing.ts';

/** Two self-attention layers that, as torchvision's ViT, do not return their weights; `weights` returns b's. */
class TwoLayers extends Module {
  readonly a = new nn.MultiheadAttention(8, 2, { batch_first: true });
  readonly b = new nn.MultiheadAttention(8, 2, { batch_first: true });
  constructor(readonly weights = false) {
    super();
  }
  forward(x: Tensor<'float32', 3>): Record<string, Tensor> {
    const h = this.a.forward(x, x, x, { needWeights: false }).output;
    const r = this.b.forward(h, h, h, { needWeights: this.weights, averageAttnWeights: false });
    return this.weights ? { out: r.output, attn_b: r.attnWeights! } : { out: r.output };
  }
}

const spec = { x: { dtype: 'float32' as const, shape: ['B', 5, 8] } };
const traced = (weights = false) => trace(new TwoLayers(weights), spec, weights ? ['out', 'attn_b'] : ['out']);

describe('exposeIntermediates', () => {
  it("returns b's softmax as an output, its attention still fused and giving the probabilities the module would return", () => {
    const graph = exposeIntermediates(traced(), { attn_b: { scope: 'b', op: 'Softmax' } });
    expect(graph.outputs.map((o) => o.name)).toEqual(['out', 'attn_b']);
    const { graph: fused, counts, diff } = fusedAndUnfused(graph, { B: 2 });
    expect(counts.attention).toBe(2);
    expect(diff).toBeLessThan(1e-6);
    const attentions = fused.nodes.filter((n) => n.op === 'Attention').map((n) => (n.attrs as AttrsOf<'Attention'>).probs);
    expect(attentions.sort()).toEqual([false, true]);

    const reference = traced(true);
    const inputs = randomInputs(reference, { B: 2 }, 3);
    const weights = initialWeights(reference, 3);
    const want = interpret(reference, inputs, { weights }).attn_b!;
    const got = interpret(fused, inputs, { weights }).attn_b!;
    expect(got.shape).toEqual([2, 2, 5, 5]);
    expect(maxAbsDiff(got, want)).toBeLessThan(1e-6);
  });

  it('lists the modules that run the op when the one named does not, and refuses a taken output name', () => {
    const graph = traced();
    expect(scopesWith(graph, 'Softmax')).toEqual(['a', 'b']);
    expect(() => exposeIntermediates(graph, { attn: { scope: 'c', op: 'Softmax' } })).toThrow(new IntermediateError("no Softmax ran in module 'c'; modules with a Softmax: a, b"));
    expect(() => exposeIntermediates(graph, { out: { scope: 'a', op: 'Softmax' } })).toThrow(/already has an output 'out'/);
  });
});
