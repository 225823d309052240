/**
 * Which ONNX form of a dynamically quantized Linear ONNX Runtime's CPU provider runs fastest: one
 * (M, K) x (K, N) product at ViT-B/16's and Swin-T's sizes (batch 8 for ViT, 1576 = 8 x 197 tokens;
 * batch 1 for Swin-T's four stages), the weight int8 per output column (symmetric), the activation
 * quantized at run time, timed in turn in one run against the fp32 MatMul:
 *   - fp32:      MatMul
 *   - integer:   DynamicQuantizeLinear, MatMulInteger, Cast, Mul (standard ONNX ops)
 *   - dqmm:      com.microsoft DynamicQuantizeMatMul (B int8, B_scale per column)
 *   - qdq:       DynamicQuantizeLinear, DequantizeLinear on both sides, MatMul
 *   - mmitf:     DynamicQuantizeLinear, com.microsoft MatMulIntegerToFloat
 *   - static:    QuantizeLinear and DequantizeLinear with a constant (calibrated) activation scale,
 *                DequantizeLinear of the weight, MatMul: `--quantize static`'s QDQ form
 * The error is the fp32 product's: max abs / max |fp32|. Sessions use graphOptimizationLevel 'all'
 * (what runOnnxRuntime and the CLI use), the default thread count; the last lines print the nodes
 * each form becomes after ONNX Runtime's optimizations.
 *
 * Measured here (ONNX Runtime 1.30, 2 shared cores, AVX-512 VNNI): every quantized form becomes the
 * same single com.microsoft DynamicQuantizeMatMul node, so their times differ only by noise (ViT's
 * fc1: 0.24-0.34 of fp32, error 1.00 % in all four). The export therefore writes the standard form
 * (DynamicQuantizeLinear, MatMulInteger, Cast, Mul: any ONNX runtime reads it) for the portable and
 * onnx23 targets, and DynamicQuantizeMatMul itself for the onnxruntime target (one node, and no
 * reliance on the fusion at lower optimization levels). The static QDQ form runs as QuantizeLinear +
 * com.microsoft MatMulIntegerToFloat, as fast (ViT's fc1 0.10 of fp32 in a run at load 3, where the
 * dynamic forms took 0.10-0.12). See packages/compiler/src/onnx/quantize.ts.
 *
 * npx tsx packages/cli/bench/quantize-forms.ts
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { encodeModel, type ModelProto, onnx, quantizePerColumn, uint8Affine } from '@tessera/compiler';
import { seededRandom } from '@tessera/graph-dsl';
import type * as Ort from 'onnxruntime-node';
import { table } from './measure.ts';

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;
const FLOAT = 1;
const INT8 = 3;
const UINT8 = 2;

const CASES = [
  { name: 'ViT-B/16 mlp fc1', m: 1576, k: 768, n: 3072 },
  { name: 'ViT-B/16 out_proj', m: 1576, k: 768, n: 768 },
  { name: 'ViT-B/16 mlp fc2', m: 1576, k: 3072, n: 768 },
  { name: 'Swin-T s1 mlp fc1', m: 3136, k: 96, n: 384 },
  { name: 'Swin-T s2 mlp fc1', m: 784, k: 192, n: 768 },
  { name: 'Swin-T s3 mlp fc1', m: 196, k: 384, n: 1536 },
  { name: 'Swin-T s4 mlp fc1', m: 49, k: 768, n: 3072 },
] as const;

type Form = 'fp32' | 'integer' | 'dqmm' | 'qdq' | 'mmitf' | 'static';
const FORMS: readonly Form[] = ['fp32', 'integer', 'dqmm', 'qdq', 'mmitf', 'static'];

/** Seeded values near N(0, std^2) (a sum of four uniforms): LayerNorm'd activations, initialized weights. */
function gaussian(n: number, seed: number, std: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: n }, () => (random() + random() + random() + random() - 2) * std * Math.sqrt(3));
}

const raw = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function model(form: Form, k: number, n: number, w: Float32Array, a: Float32Array): Uint8Array {
  const q = quantizePerColumn(w, k, n);
  // the activation's scale as calibration by min/max gives it
  const { scale, zeroPoint } = uint8Affine(a.reduce(({ min, max }, x) => ({ min: Math.min(min, x), max: Math.max(max, x) }), { min: 0, max: 0 }));
  const init = [
    { name: 'Acs', dims: [], dataType: FLOAT, rawData: raw(Float32Array.of(scale)) },
    { name: 'Acz', dims: [], dataType: UINT8, rawData: Uint8Array.of(zeroPoint) },
    { name: 'W', dims: [k, n], dataType: FLOAT, rawData: raw(w) },
    { name: 'Wq', dims: [k, n], dataType: INT8, rawData: raw(q.data) },
    { name: 'Ws', dims: [n], dataType: FLOAT, rawData: raw(q.scale) },
    { name: 'Wz', dims: [n], dataType: INT8, rawData: new Uint8Array(n) },
  ];
  const ms = 'com.microsoft';
  const dql = { opType: 'DynamicQuantizeLinear', input: ['A'], output: ['Aq', 'As', 'Az'] };
  const nodes = {
    fp32: [{ opType: 'MatMul', input: ['A', 'W'], output: ['Y'] }],
    integer: [
      dql,
      { opType: 'MatMulInteger', input: ['Aq', 'Wq', 'Az'], output: ['Yi'] },
      { opType: 'Cast', input: ['Yi'], output: ['Yf'], attribute: [{ name: 'to', type: 2, i: FLOAT }] },
      { opType: 'Mul', input: ['As', 'Ws'], output: ['S'] },
      { opType: 'Mul', input: ['Yf', 'S'], output: ['Y'] },
    ],
    dqmm: [{ opType: 'DynamicQuantizeMatMul', domain: ms, input: ['A', 'Wq', 'Ws'], output: ['Y'] }],
    qdq: [
      dql,
      { opType: 'DequantizeLinear', input: ['Aq', 'As', 'Az'], output: ['Ad'] },
      { opType: 'DequantizeLinear', input: ['Wq', 'Ws', 'Wz'], output: ['Wd'], attribute: [{ name: 'axis', type: 2, i: 1 }] },
      { opType: 'MatMul', input: ['Ad', 'Wd'], output: ['Y'] },
    ],
    mmitf: [dql, { opType: 'MatMulIntegerToFloat', domain: ms, input: ['Aq', 'Wq', 'As', 'Ws', 'Az'], output: ['Y'] }],
    static: [
      { opType: 'QuantizeLinear', input: ['A', 'Acs', 'Acz'], output: ['Aq'] },
      { opType: 'DequantizeLinear', input: ['Aq', 'Acs', 'Acz'], output: ['Ad'] },
      { opType: 'DequantizeLinear', input: ['Wq', 'Ws', 'Wz'], output: ['Wd'], attribute: [{ name: 'axis', type: 2, i: 1 }] },
      { opType: 'MatMul', input: ['Ad', 'Wd'], output: ['Y'] },
    ],
  }[form];
  const used = new Set(nodes.flatMap((x) => x.input));
  const tensor = (name: string, elemType: number, dim: readonly (number | string)[]) => ({
    name,
    type: { tensorType: { elemType, shape: { dim: dim.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });
  const proto: ModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: '', version: 17 }, { domain: ms, version: 1 }],
    graph: { name: form, node: nodes, initializer: init.filter((t) => used.has(t.name)), input: [tensor('A', FLOAT, ['M', k])], output: [tensor('Y', FLOAT, ['M', n])] },
  };
  return encodeModel(proto);
}

const rows: string[][] = [['product (M x K x N)', ...FORMS.map((f) => `${f} ms`), ...FORMS.slice(1).map((f) => `${f}/fp32`), ...FORMS.slice(1).map((f) => `${f} err`)]];
for (const [i, c] of CASES.entries()) {
  const w = gaussian(c.k * c.n, 2 * i + 1, 0.02);
  const a = gaussian(c.m * c.k, 2 * i + 2, 1);
  const sessions = await Promise.all(FORMS.map((f) => ort.InferenceSession.create(model(f, c.k, c.n, w, a), { graphOptimizationLevel: 'all' })));
  const feeds = { A: new ort.Tensor('float32', a, [c.m, c.k]) };
  const outs = await Promise.all(sessions.map(async (s) => (await s.run(feeds)).Y!.data as Float32Array));
  const ref = outs[0]!;
  const peak = ref.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
  const errors = outs.slice(1).map((y) => y.reduce((m, x, j) => Math.max(m, Math.abs(x - ref[j]!)), 0) / peak);
  const samples = sessions.map((): number[] => []);
  const rounds = Math.max(20, Math.min(200, Math.round(4e9 / (2 * c.m * c.k * c.n))));
  for (let r = 0; r < rounds; r++) {
    for (const [j, s] of sessions.entries()) {
      const t0 = performance.now();
      await s.run(feeds);
      if (r >= rounds / 5) samples[j]!.push(performance.now() - t0);
    }
  }
  const med = samples.map((xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!);
  rows.push([
    `${c.name} (${c.m} x ${c.k} x ${c.n})`,
    ...med.map((t) => t.toFixed(3)),
    ...med.slice(1).map((t) => (t / med[0]!).toFixed(2)),
    ...errors.map((e) => `${(e * 100).toFixed(2)}%`),
  ]);
  await Promise.all(sessions.map((s) => s.release()));
}
process.stdout.write(`\nONNX Runtime ${ort.env.versions.common} CPU, default threads, graphOptimizationLevel all: one quantized Linear, median ms, error = max abs / max |fp32|\n${table(rows)}\n`);

// what each form runs as: the nodes of ONNX Runtime's optimized model
const dir = mkdtempSync(path.join(tmpdir(), 'tessera-quantize-forms-'));
const { k, n } = CASES[0];
const w = gaussian(k * n, 1, 0.02);
const a = gaussian(CASES[0].m * k, 2, 1);
for (const form of FORMS) {
  const file = path.join(dir, `${form}.onnx`);
  const s = await ort.InferenceSession.create(model(form, k, n, w, a), { graphOptimizationLevel: 'all', optimizedModelFilePath: file, logSeverityLevel: 3 });
  await s.release();
  const nodes = onnx.ModelProto.decode(readFileSync(file)).graph!.node!.map((x) => `${x.domain ? `${x.domain}.` : ''}${x.opType}`);
  process.stdout.write(`${form.padEnd(8)} runs as ${nodes.join(', ')}\n`);
}
rmSync(dir, { recursive: true, force: true });
