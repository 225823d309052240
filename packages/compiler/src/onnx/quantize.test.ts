/**
 * The dynamic quantization pass on exported models: which matmuls it quantizes (the constant-weight
 * ones, not the attention core), exclusions by module path, and ONNX Runtime's results against the
 * fp32 model's on every target (onnx.checker where its onnx reads the file); the static pass's QDQ
 * form with calibrated ranges.
 */
import { describe, expect, it } from 'vitest';
import { type Graph, type HostTensor, Module, nn, type Tensor, trace } from '@tessera/graph-dsl';
import { compile } from '../compile.ts';
import { randomInputs } from '../testing.ts';
import { ONNX_TARGETS, type OnnxTarget } from './context.ts';
import { encodeModel, exportOnnxModel } from './export.ts';
import { calibrate } from './calibrate.ts';
import { formatQuantizeDecisions, quantizeDynamic, quantizeStatic, uint8Affine } from './quantize.ts';
import { checkOnnx, randomWeights, runOnnx } from './test-support.ts';
import { TEST_MODELS } from './test-models.ts';

/** A pre-norm encoder layer (torch's nn.TransformerEncoderLayer) and a classifier head. */
class Classifier extends Module {
  readonly encoder = new nn.TransformerEncoderLayer(32, 4, { dim_feedforward: 64, batch_first: true, norm_first: true, activation: 'gelu' });
  readonly head = new nn.Linear(32, 10);
  forward(x: Tensor<'float32', 3>) {
    return this.head.forward(this.encoder.forward(x));
  }
}

/** torch's cross-attention: query and key/value differ, so the packed in_proj_weight is read in row slices (Q's; K's and V's as one, linear-siblings). */
class CrossAttention extends Module {
  readonly attn = new nn.MultiheadAttention(16, 2, { batch_first: true });
  forward(q: Tensor<'float32', 3>, kv: Tensor<'float32', 3>) {
    return this.attn.forward(q, kv, kv).output;
  }
}

const crossAttention = (): Graph => compile(trace(new CrossAttention(), { q: { dtype: 'float32', shape: ['B', 4, 16] }, kv: { dtype: 'float32', shape: ['B', 6, 16] } })).graph;

const classifier = (): Graph => compile(trace(new Classifier(), { x: { dtype: 'float32', shape: ['B', 6, 32] } })).graph;
const LINEAR_WEIGHTS = ['encoder.self_attn.in_proj_weight', 'encoder.self_attn.out_proj.weight', 'encoder.linear1.weight', 'encoder.linear2.weight', 'head.weight'];

/** max |a - b| / max |b|: the error the CLI reports. */
function relativeError(a: HostTensor, b: HostTensor): number {
  let [diff, peak] = [0, 0];
  for (let i = 0; i < b.data.length; i++) {
    diff = Math.max(diff, Math.abs(a.data[i]! - b.data[i]!));
    peak = Math.max(peak, Math.abs(b.data[i]!));
  }
  return diff / peak;
}

describe('quantizeDynamic', () => {
  const graph = classifier();
  const weights = randomWeights(graph, 1);
  // the in-projection stays a matmul the pass sees (not inside com.microsoft Attention)
  const exported = (target: OnnxTarget) => exportOnnxModel(graph, { weights, target, fuseInProjection: false });

  for (const target of ONNX_TARGETS) {
    it(`${target}: quantizes every Linear's weight and no product of two activations`, () => {
      const model = exported(target);
      const nodes = model.graph!.node!.length;
      const { model: q, decisions, unmatched } = quantizeDynamic(model, { target });
      expect(decisions.filter((d) => d.quantized).map((d) => d.weight).sort()).toEqual([...LINEAR_WEIGHTS].sort());
      for (const d of decisions.filter((x) => !x.quantized)) expect(d.reason).toMatch(/right operand is computed/);
      if (target === 'portable') expect(decisions.filter((d) => !d.quantized).length).toBeGreaterThanOrEqual(2); // scores and values
      expect(unmatched).toEqual([]);
      // the float weights and their Transposes are gone, the int8 ones are in
      const init = new Map(q.graph!.initializer!.map((t) => [t.name!, t]));
      for (const w of LINEAR_WEIGHTS) {
        expect(init.has(w), w).toBe(false);
        expect(init.get(`${w}_quantized`)?.dataType, w).toBe(3); // INT8
      }
      expect(init.get('head.weight_quantized')!.dims!.map(Number)).toEqual([32, 10]);
      expect(init.get('head.weight_scale')!.dims!.map(Number)).toEqual([10]);
      const ops = q.graph!.node!.map((n) => n.opType);
      // no Transpose of a weight is left (the portable target's Linear wrote one each)
      expect(q.graph!.node!.filter((n) => n.opType === 'Transpose' && LINEAR_WEIGHTS.includes(n.input![0]!))).toEqual([]);
      if (target === 'onnxruntime') expect(ops.filter((o) => o === 'DynamicQuantizeMatMul')).toHaveLength(5);
      else expect(ops.filter((o) => o === 'MatMulInteger')).toHaveLength(5);
      expect(q.graph!.node!.every((n) => n.domain !== 'com.microsoft') || q.opsetImport!.some((o) => o.domain === 'com.microsoft')).toBe(true);
      expect(model.graph!.node!.length, 'the input model is not changed').toBe(nodes);
      expect(formatQuantizeDecisions(decisions)).toMatch(/^quantize dynamic: 5 of \d+ matmuls to int8\n {2}int8 /);
    });
  }

  it('says when the onnxruntime target holds the in-projection inside com.microsoft Attention (kept float)', () => {
    const { decisions } = quantizeDynamic(exportOnnxModel(graph, { weights, target: 'onnxruntime' }), { target: 'onnxruntime' });
    const inProjection = decisions.find((d) => d.weight === 'encoder.self_attn.in_proj_weight')!;
    expect(inProjection).toMatchObject({ op: 'Attention', quantized: false });
    expect(inProjection.reason).toMatch(/fuseInProjection: false/);
    expect(decisions.filter((d) => d.quantized)).toHaveLength(4);
  });

  it("quantizes the row slices of torch's packed in_proj_weight (query and key/value differ)", () => {
    const g = crossAttention();
    const { model, decisions } = quantizeDynamic(exportOnnxModel(g, { weights: randomWeights(g, 1) }));
    expect(decisions.filter((d) => d.quantized).map((d) => [d.weight, d.reason])).toEqual([
      ['attn.in_proj_weight', 'int8 (16, 16), a scale per column'],
      ['attn.in_proj_weight', 'int8 (16, 32), a scale per column'],
      ['attn.out_proj.weight', 'int8 (16, 16), a scale per column'],
    ]);
    const names = model.graph!.initializer!.map((t) => t.name);
    expect(names.filter((n) => n!.startsWith('attn.in_proj_weight_quantized'))).toHaveLength(2);
    expect(names).not.toContain('attn.in_proj_weight');
    expect(model.graph!.node!.filter((n) => n.opType === 'Slice' || n.opType === 'Transpose').filter((n) => n.input![0] === 'attn.in_proj_weight')).toEqual([]);
  });

  it('keeps excluded modules float, by path prefix, and names the exclusions that matched nothing', () => {
    const model = exported('portable');
    const { model: q, decisions, unmatched } = quantizeDynamic(model, { exclude: ['head', 'encoder.linear', 'encoder.linear1', 'heads.head'] });
    const kept = decisions.filter((d) => d.weight && !d.quantized);
    // 'encoder.linear' is not a module: it does not take encoder.linear1 or linear2 by its letters
    expect(kept.map((d) => [d.weight, d.reason])).toEqual([
      ['encoder.linear1.weight', 'excluded (encoder.linear1)'],
      ['head.weight', 'excluded (head)'],
    ]);
    expect(unmatched).toEqual(['encoder.linear', 'heads.head']);
    const names = q.graph!.initializer!.map((t) => t.name);
    expect(names).toContain('head.weight');
    expect(names).not.toContain('head.weight_quantized');
    expect(names).toContain('encoder.linear2.weight_quantized');
  });

  const cases: Record<string, () => Graph> = { classifier, crossAttention, windowBlock: TEST_MODELS.windowBlock };
  for (const [name, make] of Object.entries(cases)) {
    it(`${name}: every target runs in ONNX Runtime within 3 % of the fp32 model (onnx.checker where it reads the file)`, async () => {
      const g = make();
      const w = randomWeights(g, 2);
      const inputs = randomInputs(g, { B: 2 }, 5);
      for (const target of ONNX_TARGETS) {
        const fp32 = exportOnnxModel(g, { weights: w, target });
        const { model, decisions } = quantizeDynamic(fp32, { target });
        expect(decisions.some((d) => d.quantized), target).toBe(true);
        const bytes = encodeModel(model);
        if (target !== 'onnx23') expect(checkOnnx(bytes), target).toBeUndefined();
        const [ref, got] = await Promise.all([runOnnx(encodeModel(fp32), inputs), runOnnx(bytes, inputs)]);
        const errors = Object.entries(ref).map(([output, t]) => [output, relativeError(got[output]!, t)] as const);
        // int8 moves the numbers by about 1 % (an output no Linear reaches, windowBlock's causal, not at all); a scale off by 2x is 50 % or more
        for (const [output, error] of errors) expect(error, `${target}: ${output}`).toBeLessThan(0.03);
        expect(Math.max(...errors.map(([, e]) => e)), target).toBeGreaterThan(1e-4);
      }
    }, 60_000);
  }
});

describe('quantizeStatic', () => {
  const graph = classifier();
  const weights = randomWeights(graph, 1);
  const batches = [randomInputs(graph, { B: 2 }, 5), randomInputs(graph, { B: 3 }, 6)];

  it('maps a range to uint8 with 0 exact, widened to hold 0', () => {
    expect(uint8Affine({ min: -1, max: 3 })).toEqual({ scale: 4 / 255, zeroPoint: 64 });
    // GELU's and ReLU's outputs: a range above 0 still starts at 0, so 0 stays exact
    expect(uint8Affine({ min: 2, max: 5 })).toEqual({ scale: 5 / 255, zeroPoint: 0 });
    expect(uint8Affine({ min: -6, max: -1 })).toEqual({ scale: 6 / 255, zeroPoint: 255 });
    expect(uint8Affine({ min: 0, max: 0 })).toEqual({ scale: 1, zeroPoint: 0 });
  });

  for (const target of ONNX_TARGETS) {
    it(`${target}: QDQ around each Linear with calibrated scales, one pair per activation, within 3 % of fp32 in ONNX Runtime`, async () => {
      const fp32 = exportOnnxModel(graph, { weights, target, fuseInProjection: false });
      const activations = quantizeDynamic(fp32, { target }).decisions.filter((d) => d.quantized).map((d) => d.activation);
      const ranges = await calibrate(fp32, activations, batches, { kind: 'minmax' });
      const { model, decisions } = quantizeStatic(fp32, ranges, { target });
      expect(formatQuantizeDecisions(decisions, 'static')).toMatch(/^quantize static: 5 of \d+ matmuls to int8\n/);
      expect(decisions.filter((d) => d.quantized).map((d) => d.weight).sort()).toEqual([...LINEAR_WEIGHTS].sort());
      const nodes = model.graph!.node!;
      const quantizeNodes = nodes.filter((n) => n.opType === 'QuantizeLinear');
      // the portable target's Q, K and V read one LayerNorm output: one QuantizeLinear for the three
      expect(quantizeNodes.map((n) => n.input![0]).sort()).toEqual([...new Set(activations)].sort());
      expect(nodes.filter((n) => n.opType === 'DequantizeLinear')).toHaveLength(quantizeNodes.length + LINEAR_WEIGHTS.length);
      expect(nodes.some((n) => n.opType!.startsWith('Dynamic') || n.opType === 'MatMulInteger')).toBe(false);
      // each scale is the calibrated range's
      const init = new Map(model.graph!.initializer!.map((t) => [t.name!, t]));
      for (const q of quantizeNodes) {
        const scale = new Float32Array(new Uint8Array(init.get(q.input![1]!)!.rawData!).buffer)[0]!;
        expect(scale).toBeCloseTo(uint8Affine(ranges.get(q.input![0]!)!).scale, 7);
      }
      const bytes = encodeModel(model);
      if (target !== 'onnx23') expect(checkOnnx(bytes), target).toBeUndefined();
      const [ref, got] = await Promise.all([runOnnx(encodeModel(fp32), batches[0]!), runOnnx(bytes, batches[0]!)]);
      const error = relativeError(got.output!, ref.output!);
      expect(error).toBeLessThan(0.03);
      expect(error).toBeGreaterThan(1e-4);
    }, 60_000);
  }

  it('names the activation that has no calibrated range', () => {
    const fp32 = exportOnnxModel(graph, { weights, fuseInProjection: false });
    expect(() => quantizeStatic(fp32, new Map())).toThrow(/no calibrated range for .*, the input of /);
  });
});
