/**
 * Which form of an attention ONNX Runtime's CPU provider runs faster, by shape: the same packed
 * attention (Q, K, V of (B*windows, L, H*E), a bias where the model has one) exported for the
 * onnxruntime target once as com.microsoft MultiHeadAttention and once as MatMul, Softmax,
 * MatMul, timed in turn. The rule in packages/compiler/src/onnx/ort-attention.ts comes from this table.
 *
 * npx tsx packages/cli/bench/ort-attention.ts
 */
import { createRequire } from 'node:module';
import { compile, exportOnnx, multiHeadAttentionWins } from '@tessera/compiler';
import { constant, hostTensor, initialWeights, Module, type Tensor, trace } from '@tessera/graph-dsl';
import type * as Ort from 'onnxruntime-node';
import { table } from './measure.ts';

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;

interface Case {
  readonly name: string;
  readonly windows: number;
  readonly heads: number;
  readonly length: number;
  readonly headDim: number;
  /** A per-head (1, H, L, S) bias (Swin's relative positions), a per-key (1, 1, 1, S) one (padding), or none. */
  readonly bias: 'heads' | 'keys' | 'none';
}

const CASES: Case[] = [
  { name: 'Swin-T stage 1', windows: 64, heads: 3, length: 49, headDim: 32, bias: 'heads' },
  { name: 'Swin-T stage 2', windows: 16, heads: 6, length: 49, headDim: 32, bias: 'heads' },
  { name: 'Swin-T stage 3', windows: 4, heads: 12, length: 49, headDim: 32, bias: 'heads' },
  { name: 'Swin-T stage 4', windows: 1, heads: 24, length: 49, headDim: 32, bias: 'heads' },
  { name: 'ViT-B/16', windows: 1, heads: 12, length: 197, headDim: 64, bias: 'none' },
  { name: 'small MHA', windows: 1, heads: 4, length: 16, headDim: 16, bias: 'none' },
  { name: 'Transformer d128', windows: 1, heads: 4, length: 20, headDim: 32, bias: 'none' },
  { name: 'Transformer d128, padding', windows: 1, heads: 4, length: 20, headDim: 32, bias: 'keys' },
  { name: 'ViT-B/16, padding', windows: 1, heads: 12, length: 197, headDim: 64, bias: 'keys' },
];

/** softmax(Q K^T * scale (+ bias)) V with the heads split and merged as torch writes it. */
class PackedAttention extends Module {
  constructor(readonly c: Case) {
    super();
  }
  forward(q: Tensor<'float32', 3>, k: Tensor<'float32', 3>, v: Tensor<'float32', 3>) {
    const { heads, length, headDim } = this.c;
    const split = (x: Tensor<'float32', 3>) => x.reshape([x.size(0), length, heads, headDim]).transpose(1, 2);
    let scores = split(q).mul(headDim ** -0.5).matmul(split(k).mT);
    const biasShape = this.c.bias === 'heads' ? [1, heads, length, length] : [1, 1, 1, length];
    if (this.c.bias !== 'none') scores = scores.add(constant(q, Array.from({ length: biasShape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i)), 'float32', biasShape) as Tensor<'float32', 4>);
    const out = scores.softmax(-1).matmul(split(v));
    return out.transpose(1, 2).reshape([out.size(0), length, heads * headDim]);
  }
}

const rows: string[][] = [['attention', 'problems', 'batch', 'MHA us', 'plain us', 'MHA / plain', 'rule says']];
for (const c of CASES) {
  const width = c.heads * c.headDim;
  const spec = { dtype: 'float32' as const, shape: [`${c.windows}*B`, c.length, width] };
  const traced = trace(new PackedAttention(c), { q: spec, k: spec, v: spec });
  const { graph } = compile(traced);
  const weights = initialWeights(graph, 0);
  const forms = await Promise.all([true, false].map((fused) => ort.InferenceSession.create(exportOnnx(graph, { weights, target: 'onnxruntime', ortAttention: () => fused }), { graphOptimizationLevel: 'all' })));
  for (const batch of [1, 8]) {
    const n = c.windows * batch * c.length * width;
    const x = hostTensor('float32', [c.windows * batch, c.length, width], Array.from({ length: n }, (_, i) => Math.cos(i)));
    const feeds = Object.fromEntries(['q', 'k', 'v'].map((name) => [name, new ort.Tensor('float32', x.data, [...x.shape])]));
    const samples = forms.map((): number[] => []);
    const rounds = n > 2e6 ? 60 : 300;
    for (let r = 0; r < rounds; r++) {
      for (const [i, s] of forms.entries()) {
        const t0 = performance.now();
        await s.run(feeds);
        if (r >= rounds / 5) samples[i]!.push((performance.now() - t0) * 1000);
      }
    }
    const [mha, plain] = samples.map((xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!) as [number, number];
    const rule = multiHeadAttentionWins({ problems: c.windows * c.heads, queries: c.length, keys: c.length, headDim: c.headDim, bias: c.bias });
    rows.push([c.name, String(c.windows * c.heads), String(batch), mha.toFixed(0), plain.toFixed(0), (mha / plain).toFixed(2), rule ? 'MHA' : 'plain']);
  }
  await Promise.all(forms.map((s) => s.release()));
}
process.stdout.write(`\nONNX Runtime ${ort.env.versions.common} CPU, default threads: one attention, MultiHeadAttention against MatMul-Softmax-MatMul\n${table(rows)}\n`);
