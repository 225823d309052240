/**
 * Vision bench: vit_b_16 and swin_t at 224x224 (torchvision's sizes, seeded random weights
 * written as a torchvision state_dict), compiled with a symbolic batch and run at batch 1 and 8,
 * side by side in one run:
 *   - the tfjs runtime (the backend it picked), with the compiler's fusions and without;
 *   - onnxruntime-node on our export (portable with and without the fusions, onnxruntime and
 *     onnx23 targets) and on torch.onnx's export of the same torchvision model with the same weights;
 *   - PyTorch eager on the CPU (its BLAS and thread count printed).
 * Latency (median), ratios, ONNX node counts, and the max |diff| of the logits against tfjs.
 *
 * Alone: npx tsx packages/cli/bench/vision.ts [vit_b_16 swin_t] [--batches 1,8]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { exportOnnx, graphFlops } from '@tessera/compiler';
import { checkOnnxModel } from '@tessera/compiler/node';
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
const argv = process.argv.slice(2);
const names = argv.filter((a) => /^(vit|swin)_/.test(a));
const batchArg = argv.indexOf('--batches');
const BATCHES = batchArg >= 0 ? argv[batchArg + 1]!.split(',').map(Number) : [1, 8];
const repeats = (batch: number) => (batch === 1 ? 5 : 3);

interface Runner {
  readonly label: string;
  readonly run: (image: HostTensor) => Promise<Float32Array>;
  readonly close: () => Promise<void> | void;
}

async function tfjsRunner(label: string, graph: Parameters<typeof Session.create>[0], weights: ReadonlyMap<string, HostTensor>): Promise<Runner> {
  const session = await Session.create(graph, { weights });
  return {
    label,
    run: async (image) => {
      const x = tf.tensor(image.data, [...image.shape]);
      const out = session.runTensors({ image: x });
      const data = out.logits!.dataSync() as Float32Array;
      out.logits!.dispose();
      x.dispose();
      return data;
    },
    close: () => session.dispose(),
  };
}

async function ortRunner(label: string, model: string): Promise<Runner> {
  const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'all' });
  return {
    label,
    run: async (image) => (await session.run({ image: new ort.Tensor('float32', image.data, [...image.shape]) })).logits!.data as Float32Array,
    close: () => session.release(),
  };
}

function nodeCount(file: string): number {
  const r = spawnSync(PYTHON, ['-c', 'import onnx, sys; print(len(onnx.load(sys.argv[1], load_external_data=False).graph.node))', file], { encoding: 'utf8' });
  return r.status === 0 ? Number(r.stdout.trim()) : NaN;
}

for (const name of names.length ? names : ['vit_b_16', 'swin_t']) {
  say(`\n${name}, 224x224, batch ${BATCHES.join(' and ')}: ${hasTorch ? 'torchvision weights (seeded random) ...' : 'initial weights (python3-torch is not installed: PyTorch columns skipped) ...'}`);
  let weightsFile: string | undefined;
  if (hasTorch) {
    weightsFile = path.join(dir, `${name}.safetensors`);
    const r = spawnSync(PYTHON, [CONVERT, '--torchvision', name, weightsFile, '--seed', '0', '--noise', '0.02'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${CONVERT}: ${r.stderr}`);
  }
  const t0 = performance.now();
  const fused = await prepareModel(name, [], weightsFile); // batch stays 'B': a dim_param in the ONNX
  const compileMs = performance.now() - t0;
  const plain = await prepareModel(name, [], weightsFile, 0, { fuse: false });
  const flopsPerImage = evaluateDim(graphFlops(fused.graph), new Map([['B', 1]]));
  const random = seededRandom(0);
  const one = hostTensor('float32', [1, 3, 224, 224]);
  for (let i = 0; i < one.data.length; i++) one.data[i] = random() * 4 - 2;
  if (weightsFile) writeFileSync(`${weightsFile}.image.f32`, one.data);
  const images = new Map(BATCHES.map((b) => {
    const t = hostTensor('float32', [b, 3, 224, 224]);
    for (let k = 0; k < b; k++) t.data.set(one.data, k * one.data.length);
    return [b, t] as const;
  }));

  const files: [string, string][] = [];
  const writeOnnx = (label: string, bytes: Uint8Array) => {
    const file = path.join(dir, `${name}.${label}.onnx`);
    writeFileSync(file, bytes);
    files.push([label, file]);
    return file;
  };
  const oursFused = writeOnnx('ours', exportOnnx(fused.graph, { weights: fused.weights }));
  const oursOrt = writeOnnx('ours-onnxruntime', exportOnnx(fused.graph, { weights: fused.weights, target: 'onnxruntime' }));
  const ours23 = writeOnnx('ours-onnx23', exportOnnx(fused.graph, { weights: fused.weights, target: 'onnx23' }));
  const oursPlain = writeOnnx('ours-not-fused', exportOnnx(plain.graph, { weights: plain.weights }));
  const runners: Runner[] = [
    await tfjsRunner(`tfjs (${backend})`, fused.graph, fused.weights),
    await tfjsRunner(`tfjs (${backend}), not fused`, plain.graph, plain.weights),
    await ortRunner('onnxruntime, our ONNX', oursFused),
    await ortRunner('onnxruntime, our ONNX --target onnxruntime', oursOrt),
    await ortRunner('onnxruntime, our ONNX --target onnx23', ours23),
    await ortRunner('onnxruntime, our ONNX not fused', oursPlain),
  ];
  let torch: { eager_ms: Record<string, number>; logits: number[]; blas: string; threads: number } | undefined;
  if (weightsFile) {
    const torchOnnx = path.join(dir, `${name}.torch.onnx`);
    const r = spawnSync(PYTHON, [path.join(HERE, 'torch_vision.py'), name, weightsFile, torchOnnx, BATCHES.join(',')], { encoding: 'utf8', maxBuffer: 1 << 26 });
    if (r.status !== 0 || !existsSync(torchOnnx)) say(`PyTorch side failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    else {
      torch = JSON.parse(r.stdout.trim().split('\n').pop()!);
      files.push(["torch.onnx's", torchOnnx]);
      runners.push(await ortRunner("onnxruntime, torch.onnx's ONNX", torchOnnx));
    }
  }

  const reference = await runners[0]!.run(images.get(BATCHES[0]!)!);
  const firstLogits = (data: ArrayLike<number>) => hostTensor('float32', [1000], Array.from({ length: 1000 }, (_, i) => data[i]!));
  const ms = new Map<string, Map<number, number>>();
  const diffs = new Map<string, string>();
  for (const runner of runners) {
    diffs.set(runner.label, maxAbsDiff(firstLogits(reference), firstLogits(await runner.run(images.get(BATCHES[0]!)!))).toExponential(1));
    for (const batch of BATCHES) {
      const image = images.get(batch)!;
      const t = await medianMs(() => runner.run(image), { warmup: 1, repeats: repeats(batch) });
      ms.set(runner.label, (ms.get(runner.label) ?? new Map()).set(batch, t));
      say(`  ${runner.label}, batch ${batch}: ${t.toFixed(1)} ms`);
    }
    await runner.close();
  }
  if (torch) {
    ms.set('PyTorch eager', new Map(BATCHES.map((b) => [b, torch!.eager_ms[String(b)]!])));
    diffs.set('PyTorch eager', maxAbsDiff(firstLogits(reference), firstLogits(torch.logits)).toExponential(1));
  }

  const header = ['runtime', ...BATCHES.flatMap((b) => [`b${b} ms`, `b${b} GFLOP/s`]), 'max |logits diff| vs tfjs'];
  const rows = [...ms].map(([label, byBatch]) => [label, ...BATCHES.flatMap((b) => [byBatch.get(b)!.toFixed(1), ((flopsPerImage * b) / (byBatch.get(b)! * 1e6)).toFixed(1)]), diffs.get(label)!]);
  say(table([header, ...rows]));
  const ratio = (a: string, b: string) => BATCHES.map((batch) => `batch ${batch}: ${(ms.get(a)!.get(batch)! / ms.get(b)!.get(batch)!).toFixed(2)}`).join(', ');
  say(`fused / not fused on tfjs: ${ratio(`tfjs (${backend})`, `tfjs (${backend}), not fused`)}`);
  say(`fused / not fused on onnxruntime: ${ratio('onnxruntime, our ONNX', 'onnxruntime, our ONNX not fused')}`);
  if (torch) {
    for (const target of ['', ' --target onnxruntime', ' --target onnx23']) say(`ours${target || ' (portable)'} / torch.onnx's on onnxruntime: ${ratio(`onnxruntime, our ONNX${target}`, "onnxruntime, torch.onnx's ONNX")}`);
    say(`PyTorch ${torch.threads} threads, BLAS: ${torch.blas}`);
  }
  say(`ONNX nodes: ${files.map(([label, file]) => `${label} ${nodeCount(file)}`).join(', ')}`);
  const check = checkOnnxModel(oursFused);
  say(`${(flopsPerImage / 1e9).toFixed(2)} GFLOPs per image (a multiply-add counts 2); compile ${compileMs.toFixed(0)} ms; onnx.checker on ours: ${check.ok === true ? 'ok' : `${check.ok === undefined ? 'skipped' : 'FAILED'}: ${check.message}`}`);
}
