/**
 * Every export target on the test models (which hold every IR op, the fused ones included): the
 * file passes onnx.checker where its onnx reads it (not `onnx23`: IR version 11), and ONNX
 * Runtime computes what the host reference interpreter does.
 */
import { describe, expect, it } from 'vitest';
import { constant, F, Module, nn, symbolsOf, type Tensor, trace } from '@tessera/graph-dsl';
import { compile } from '../compile.ts';
import { interpret } from '../host/interpret.ts';
import { randomInputs } from '../testing.ts';
import { ONNX_TARGETS } from './context.ts';
import { exportOnnx, exportOnnxModel } from './export.ts';
import { checkOnnx, randomWeights, runOnnx } from './test-support.ts';
import { TEST_MODELS } from './test-models.ts';

/** Largest difference, NaN equal to NaN (a fully masked softmax row is NaN in both). */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) if (!(Number.isNaN(a[i]!) && Number.isNaN(b[i]!))) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe('export targets', () => {
  for (const [name, make] of Object.entries(TEST_MODELS)) {
    it(`${name}: every target checks and runs like the reference`, async () => {
      const graph = make();
      const weights = randomWeights(graph, 1);
      const symbols = [...new Set(graph.inputs.flatMap((i) => graph.types.get(i.value)!.shape.flatMap(symbolsOf)))];
      const inputs = randomInputs(graph, Object.fromEntries(symbols.map((s, i) => [s, 2 + i])), 3);
      // every query keeps its own key: no softmax row is fully masked (NaN in the reference and in
      // PyTorch, while ONNX Runtime's Attention kernel fills masked scores with a finite lowest value)
      const keep = inputs.keep;
      if (keep) for (let i = 0; i < keep.shape[0]!; i++) keep.data[i * keep.shape[1]! + i] = 1;
      const expected = interpret(graph, inputs, { weights });
      for (const target of ONNX_TARGETS) {
        const bytes = exportOnnx(graph, { weights, target });
        if (target !== 'onnx23') expect(checkOnnx(bytes), target).toBeUndefined();
        const got = await runOnnx(bytes, inputs);
        for (const [output, t] of Object.entries(expected)) expect(maxDiff(got[output]!.data, t.data), `${target}: ${output}`).toBeLessThanOrEqual(1e-5);
      }
    });
  }

  it('writes the fused forms each target has: opset 23 Attention, com.microsoft ops with their opset import', () => {
    const graph = TEST_MODELS.windowBlock();
    const weights = randomWeights(graph, 1);
    const ops = (target: (typeof ONNX_TARGETS)[number]) => {
      const model = exportOnnxModel(graph, { weights, target });
      return { nodes: model.graph!.node!.map((n) => `${n.domain || ''}:${n.opType}`), imports: model.opsetImport!.map((o) => `${o.domain}@${o.version}`) };
    };
    const portable = ops('portable');
    expect(portable.nodes.filter((n) => !n.startsWith(':'))).toEqual([]);
    expect(portable.nodes).not.toContain(':Attention');
    expect(portable.imports).toEqual(['@17']);
    const onnx23 = ops('onnx23');
    expect(onnx23.nodes).toContain(':Attention');
    expect(onnx23.imports).toEqual(['@23']);
    const ort = ops('onnxruntime');
    // the Linear's bias goes into BiasGelu; the residual add stays an Add before LayerNormalization (SkipLayerNormalization is slower)
    expect(ort.nodes).toContain('com.microsoft:BiasGelu');
    expect(ort.nodes).toContain('com.microsoft:FusedMatMul');
    expect(ort.nodes).not.toContain('com.microsoft:SkipLayerNormalization');
    expect(ort.imports).toEqual(['@17', 'com.microsoft@1']);
  });

  it("takes a self-attention's packed in-projection into com.microsoft Attention, and keeps it a matmul when asked", async () => {
    class SelfAttention extends Module {
      readonly attn = new nn.MultiheadAttention(16, 4, { batch_first: true });
      forward(x: Tensor<'float32', 3>) {
        return this.attn.forward(x, x, x, { needWeights: false }).output;
      }
    }
    const graph = compile(trace(new SelfAttention(), { x: { dtype: 'float32', shape: ['B', 'L', 16] } })).graph;
    const weights = randomWeights(graph, 4);
    const inputs = randomInputs(graph, { B: 2, L: 5 }, 6);
    const expected = interpret(graph, inputs, { weights });
    const nodes = (fuseInProjection: boolean) => exportOnnxModel(graph, { weights, target: 'onnxruntime', fuseInProjection }).graph!.node!.map((n) => `${n.domain ? 'ms:' : ''}${n.opType}`);
    // the weight's transpose (folded by ONNX Runtime at load), the projection and attention, the output projection
    expect(nodes(true)).toEqual(['Transpose', 'ms:Attention', 'ms:FusedMatMul', 'Add']);
    expect(nodes(false)).toEqual(['ms:FusedMatMul', 'Add', 'Slice', 'Slice', 'Slice', 'ms:MultiHeadAttention', 'ms:FusedMatMul', 'Add']);
    for (const fuseInProjection of [true, false]) {
      const bytes = exportOnnx(graph, { weights, target: 'onnxruntime', fuseInProjection });
      expect(checkOnnx(bytes)).toBeUndefined();
      const got = await runOnnx(bytes, inputs);
      for (const [output, t] of Object.entries(expected)) expect(maxDiff(got[output]!.data, t.data), output).toBeLessThanOrEqual(1e-5);
    }
  });

  it('raises the softmax weights of a constant mask below ln(FLT_MIN) (Swin\'s -100) off the denormals for ONNX Runtime, within 1e-5', async () => {
    class Masked extends Module {
      forward(x: Tensor<'float32', 4>) {
        const mask = constant(x, Array.from({ length: 16 }, (_, i) => (i % 3 === 0 ? -100 : 0)), 'float32', [1, 1, 4, 4]);
        return F.scaledDotProductAttention(x, x, x, { attnMask: mask });
      }
    }
    const graph = compile(trace(new Masked(), { x: { dtype: 'float32', shape: ['B', 2, 4, 8] } })).graph;
    const inputs = randomInputs(graph, { B: 2 }, 8);
    const expected = interpret(graph, inputs, { weights: new Map() });
    const ops = (target: (typeof ONNX_TARGETS)[number]) => exportOnnxModel(graph, { weights: new Map(), target }).graph!.node!.map((n) => n.opType);
    expect(ops('onnxruntime')).toContain('Max');
    expect(ops('portable')).not.toContain('Max');
    const got = await runOnnx(exportOnnx(graph, { weights: new Map(), target: 'onnxruntime' }), inputs);
    for (const [output, t] of Object.entries(expected)) expect(maxDiff(got[output]!.data, t.data), output).toBeLessThanOrEqual(1e-5);
  });
});
