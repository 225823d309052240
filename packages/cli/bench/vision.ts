/**
^ * Vision bench: vit_b_16 and swin_t (compiled with a symbolic batch), run at batch 1 at 224x224 (torchvision's sizes, seeded random
 * weights written as a torchvision state_dict): compile, run on the tfjs runtime (the backend it
 * picked), export to ONNX (checked by onnx.checker), run on onnxruntime-node; and, when Debian's
 * python3-torch and python3-torchvision are there, PyTorch eager on the CPU and ONNX Runtime on
 * torch.onnx's export of the same torchvision model with the same weights. Latency (median),
 * GFLOP/s from our FLOPs count, ratios, and the max |diff| of the logits between all of them.
 *
 * Alone: npx tsx packages/cli/bench/vision.ts [vit_b_16 swin_t]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { checkOnnxModel, exportOnnx, graphFlops } from '@tessera/compiler';
import { evaluateDim, type HostTensor, hostTensor, maxAbsDiff, seededRandom } from '@tessera/graph-dsl';
import { initBackendInfo, Session } from '@tessera/runtime-tfjs';
import type * as Ort from 'onnxruntime-node';
import { prepareModel } from '../src/model.ts';
import { medianMs, table } from './measure.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);
const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;
const HERE = path.dirname(fileURLToPath(import.meta.url));
const CONVERT = path.join(HERE, '../../models/scripts/pth_to_safetensors.py');
const PYTHON = '/usr/bin/python3';
const dir = mkdtempSync(path.join(tmpdir(), 'tessera-vision-bench-'));
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' }).status === 0;

const { name: backend } = await initBackendInfo('auto');
const names = process.argv.slice(2).filter((a) => /^(vit|swin)_/.test(a));

for (const name of names.length ? names : ['vit_b_16', 'swin_t']) {
  say(`\n${name}, batch 1, 224x224: ${hasTorch ? 'torchvision weights (seeded random) ...' : 'initial weights (python3-torch is not installed: PyTorch columns skipped) ...'}`);
  let weightsFile: string | undefined;
  if (hasTorch) {
    weightsFile = path.join(dir, `${name}.safetensors`);
    const r = spawnSync(PYTHON, [CONVERT, '--torchvision', name, weightsFile, '--seed', '0', '--noise', '0.02'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${CONVERT}: ${r.stderr}`);
  }
  let t0 = performance.now();
  const model = prepareModel(name, [], weightsFile); // batch stays 'B': a dim_param in the ONNX
  const compileMs = performance.now() - t0;
  const flops = evaluateDim(graphFlops(model.graph), new Map([['B', 1]]));
  const random = seededRandom(0);
  const image: HostTensor = hostTensor('float32', [1, 3, 224, 224]);
  for (let i = 0; i < image.data.length; i++) image.data[i] = random() * 4 - 2;
  if (weightsFile) writeFileSync(`${weightsFile}.image.f32`, image.data);

  const session = await Session.create(model.graph, { weights: model.weights });
  const x = tf.tensor(image.data, [1, 3, 224, 224]);
  const runTfjs = () => {
    const out = session.runTensors({ image: x });
    const data = out.logits!.dataSync();
    out.logits!.dispose();
    return data;
  };
  const tfjsLogits = hostTensor('float32', [1, 1000], Float32Array.from(runTfjs()));
  const tfjsMs = await medianMs(runTfjs, { warmup: 1, repeats: 5 });

  t0 = performance.now();
  const onnx = exportOnnx(model.graph, { weights: model.weights });
  const exportMs = performance.now() - t0;
  const onnxFile = path.join(dir, `${name}.onnx`);
  writeFileSync(onnxFile, onnx);
  const check = checkOnnxModel(onnxFile);
  const ortSession = await ort.InferenceSession.create(onnxFile, { graphOptimizationLevel: 'all' });
  const feeds = { image: new ort.Tensor('float32', image.data, [1, 3, 224, 224]) };
  const ortLogits = hostTensor('float32', [1, 1000], (await ortSession.run(feeds)).logits!.data as Float32Array);
  const ortMs = await medianMs(() => ortSession.run(feeds), { warmup: 1, repeats: 5 });
  await ortSession.release();

  const gflops = (ms: number) => (flops / (ms * 1e6)).toFixed(1);
  const rows = [
    ['runtime', 'median ms', 'GFLOP/s', 'vs tfjs', 'max |logits diff| vs tfjs'],
    [`tfjs (${backend})`, tfjsMs.toFixed(1), gflops(tfjsMs), '1.00x', '-'],
    ['onnxruntime-node (our ONNX)', ortMs.toFixed(1), gflops(ortMs), `${(tfjsMs / ortMs).toFixed(2)}x`, maxAbsDiff(tfjsLogits, ortLogits).toExponential(1)],
  ];
  if (weightsFile) {
    const torchOnnx = path.join(dir, `${name}.torch.onnx`);
    const r = spawnSync(PYTHON, [path.join(HERE, 'torch_vision.py'), name, weightsFile, torchOnnx], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status !== 0 || !existsSync(torchOnnx)) say(`PyTorch side failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    else {
      const torch = JSON.parse(r.stdout.trim().split('\n').pop()!) as { eager_ms: number; logits: number[] };
      const torchLogits = hostTensor('float32', [1, 1000], Float32Array.from(torch.logits));
      rows.push(['PyTorch eager (CPU)', torch.eager_ms.toFixed(1), gflops(torch.eager_ms), `${(tfjsMs / torch.eager_ms).toFixed(2)}x`, maxAbsDiff(tfjsLogits, torchLogits).toExponential(1)]);
      const theirs = await ort.InferenceSession.create(torchOnnx, { graphOptimizationLevel: 'all' });
      const theirLogits = hostTensor('float32', [1, 1000], (await theirs.run(feeds)).logits!.data as Float32Array);
      const theirMs = await medianMs(() => theirs.run(feeds), { warmup: 1, repeats: 5 });
      await theirs.release();
      rows.push(["onnxruntime-node (torch.onnx's ONNX)", theirMs.toFixed(1), gflops(theirMs), `${(tfjsMs / theirMs).toFixed(2)}x`, maxAbsDiff(tfjsLogits, theirLogits).toExponential(1)]);
      say(`ours on ONNX Runtime vs torch.onnx's on ONNX Runtime: ${(theirMs / ortMs).toFixed(2)}x (above 1 means ours is faster)`);
    }
  }
  say(table(rows));
  say(`${(flops / 1e9).toFixed(2)} GFLOPs per image; compile ${compileMs.toFixed(0)} ms, export ${exportMs.toFixed(0)} ms (${(onnx.byteLength / 2 ** 20).toFixed(0)} MiB); onnx.checker: ${check.ok === true ? 'ok' : `${check.ok === undefined ? 'skipped' : 'FAILED'}: ${check.message}`}`);
  session.dispose();
  x.dispose();
}
