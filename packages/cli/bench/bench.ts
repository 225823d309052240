/**
 * `pnpm bench`: side-by-side measurements in one run. Prints the machine's matmul GFLOP/s for
 * scale, then torch.nn.MultiheadAttention (embed 512, 8 heads, seq 128, batch 8) on the tfjs
 * runtime and on onnxruntime-node from our ONNX export, with their ratio. `pnpm bench` then runs
 * bench/quantize.ts: vit_b_16 and swin_t fp32, --quantize dynamic and static on ONNX Runtime, and
 * PyTorch's quantize_dynamic of the same torchvision models.
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { exportOnnx, graphFlops } from '@tessera/compiler';
import { evaluateDim, maxAbsDiff, randomInputs } from '@tessera/graph-dsl';
import { initBackendInfo, Session } from '@tessera/runtime-tfjs';
import type * as Ort from 'onnxruntime-node';
import { prepareModel } from '../src/model.ts';
import { medianMs, table } from './measure.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);
const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;

const { name: backend, reason } = await initBackendInfo('auto');
say(`tfjs backend: ${reason}\n`);

// Matmul throughput for scale.
const N = 1024;
const a = tf.randomNormal([N, N]);
const matmulMs = await medianMs(() => tf.tidy(() => tf.matMul(a, a)).dataSync(), { warmup: 2, repeats: 5 });
a.dispose();
const matmulGflops = (2 * N ** 3) / (matmulMs * 1e6);
say(`matmul ${N}x${N}x${N} on tfjs ${backend}: ${matmulMs.toFixed(1)} ms, ${matmulGflops.toFixed(1)} GFLOP/s`);

// The torch-compatible attention.
const config = ['embed_dim=512', 'num_heads=8', 'batch_first=true', 'batch=8', 'tgt_len=128', 'src_len=128'];
say(`\ntorch_multihead_attention ${config.join(' ')}: compiling, exporting ...`);
const model = await prepareModel('torch_multihead_attention', config);
const inputs = randomInputs(model.graph, new Map(), 3);
const flops = evaluateDim(graphFlops(model.graph), new Map());

const session = await Session.create(model.graph, { weights: model.weights });
const tfInputs = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, tf.tensor(t.data, [...t.shape], t.dtype)]));
const runTfjs = () => {
  const out = session.runTensors(tfInputs);
  const data = Object.values(out).map((t) => t.dataSync());
  Object.values(out).forEach((t) => t.dispose());
  return data;
};
say('timing tfjs ...');
const tfjsMs = await medianMs(runTfjs);

const onnx = exportOnnx(model.graph, { weights: model.weights });
const ortSession = await ort.InferenceSession.create(onnx, { graphOptimizationLevel: 'all' });
const feeds = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, new ort.Tensor(t.dtype, t.data, [...t.shape])]));
say('timing onnxruntime-node ...');
const ortMs = await medianMs(() => ortSession.run(feeds));

// The two must agree, or the timing compares different work.
const ortOut = await ortSession.run(feeds);
const tfjsOut = await session.run(inputs);
const diff = maxAbsDiff(tfjsOut.output!, { dtype: 'float32', shape: ortOut.output!.dims.map(Number), data: ortOut.output!.data as Float32Array });

say('');
say(table([
  ['runtime', 'median ms', 'GFLOP/s', 'vs tfjs'],
  [`tfjs (${backend})`, tfjsMs.toFixed(2), (flops / (tfjsMs * 1e6)).toFixed(1), '1.00x'],
  ['onnxruntime-node (our ONNX)', ortMs.toFixed(2), (flops / (ortMs * 1e6)).toFixed(1), `${(tfjsMs / ortMs).toFixed(2)}x`],
]));
say(`\nmodel FLOPs per run: ${(flops / 1e9).toFixed(3)} G; outputs agree within ${diff.toExponential(1)}; matmul peak on tfjs ${matmulGflops.toFixed(1)} GFLOP/s`);
await ortSession.release();
session.dispose();
Object.values(tfInputs).forEach((t) => t.dispose());
await import('./small-attention.ts'); // a latency-bound self-attention on ONNX Runtime: ours (fused or not) and torch.onnx's
await import('./decode.ts'); // Transformer decoding with and without the KV cache
await import('./vision.ts'); // ViT-B/16 and Swin-T at 224: tfjs, onnxruntime (ours and torch.onnx's), PyTorch eager
