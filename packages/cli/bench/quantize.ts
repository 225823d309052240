/**
 * Int8 against fp32 on ONNX Runtime: vit_b_16 and swin_t at 224x224 (torchvision's state_dict,
 * seeded random weights), our export for the portable and onnxruntime targets, fp32,
 * `--quantize dynamic` (quantizeDynamic) and `--quantize static` (quantizeStatic, the CLI's default percentile
 * ranges calibrated on 16 other seeded images), timed in turn in one run at batch 1 and 8, with the
 * logits' relative error (max abs / max |fp32 logit|, same target, the batch-8 images) and top-1
 * agreement next to each latency. PyTorch's own dynamic quantization of the same torchvision model
 * (torch.ao.quantization.quantize_dynamic on nn.Linear, its x86 engine) is the peer when Debian's
 * python3-torch is installed (bench/torch_quantize.py; its engine, BLAS and threads printed; --no-torch
 * leaves it out): torch 1.13 there runs on the reference BLAS, one thread, so that side takes about 5
 * minutes a model here. Part of `pnpm bench`.
 *
 * npx tsx packages/cli/bench/quantize.ts [vit_b_16 swin_t] [--batches 1,8] [--no-torch]   (about 4 minutes on 2 cores without torch)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeModel, exportOnnxModel, type OnnxTarget, quantizeDynamic, quantizeStatic } from '@tessera/compiler';
import { calibrate } from '@tessera/compiler/node';
import { type HostTensor, hostTensor, seededRandom } from '@tessera/graph-dsl';
import type * as Ort from 'onnxruntime-node';
import { prepareModel } from '../src/model.ts';
import { compareOutputs, type OutputAccuracy } from '../src/accuracy.ts';
import { DEFAULT_PERCENTILE } from '../src/quantize-export.ts';
import { table } from './measure.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);
const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;
const HERE = path.dirname(fileURLToPath(import.meta.url));
const CONVERT = path.join(HERE, '../../models/scripts/pth_to_safetensors.py');
const PYTHON = '/usr/bin/python3';
const hasTorch = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' }).status === 0;
const argv = process.argv.slice(2);
const withTorch = hasTorch && !argv.includes('--no-torch');
if (!hasTorch) say(`${PYTHON} cannot import torch and torchvision (apt-get install python3-torch python3-torchvision): no PyTorch peer, initial weights`);
const names = argv.filter((a) => /^(vit|swin)_/.test(a));
const batchArg = argv.indexOf('--batches');
const BATCHES = (batchArg >= 0 ? argv[batchArg + 1]!.split(',').map(Number) : [1, 8]).sort((a, b) => a - b);
const LARGEST = BATCHES.at(-1)!;
const ROUNDS = (batch: number) => (batch === 1 ? 7 : 3);
const dir = mkdtempSync(path.join(tmpdir(), 'tessera-quantize-bench-'));

const CALIBRATION_IMAGES = 16;

interface Form {
  readonly label: string;
  readonly target: OnnxTarget;
  readonly int8: 'dynamic' | 'static' | undefined;
  readonly session: Ort.InferenceSession;
}

const logits = (data: ArrayLike<number>, batch: number) => ({ logits: hostTensor('float32', [batch, 1000], Array.from(data)) });
const accuracyText = (a: OutputAccuracy) => `${(a.relative * 100).toFixed(2)} %, top-1 ${a.top1!.agree}/${a.top1!.rows}`;

for (const name of names.length ? names : ['vit_b_16', 'swin_t']) {
  say(`\n${name}, 224x224, batch ${BATCHES.join(' and ')}, ${hasTorch ? "torchvision's state_dict with seeded random weights" : 'initial weights (no python3-torch)'} ...`);
  let weightsFile: string | undefined;
  if (hasTorch) {
    weightsFile = path.join(dir, `${name}.safetensors`);
    const r = spawnSync(PYTHON, [CONVERT, '--torchvision', name, weightsFile, '--seed', '0', '--noise', '0.02'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${CONVERT}: ${r.stderr}`);
  }
  const model = await prepareModel(name, [], weightsFile);
  // distinct seeded images, so that top-1 agreement counts different answers
  const random = seededRandom(0);
  const randomImages = (n: number) => hostTensor('float32', [n, 3, 224, 224], Array.from({ length: n * 3 * 224 * 224 }, () => random() * 4 - 2));
  const images = randomImages(LARGEST);
  const calibration = Array.from({ length: CALIBRATION_IMAGES / 8 }, () => ({ image: randomImages(8) }));
  const imagesFile = path.join(dir, `${name}.images.f32`);
  writeFileSync(imagesFile, images.data);
  const batchOf = (b: number): HostTensor => hostTensor('float32', [b, 3, 224, 224], images.data.subarray(0, b * 3 * 224 * 224));

  const forms: Form[] = [];
  const notes: string[] = [];
  for (const target of ['portable', 'onnxruntime'] as const) {
    const fp32 = exportOnnxModel(model.graph, { weights: model.weights, target });
    // as export --quantize: the in-projection stays a matmul the pass quantizes
    const unpacked = exportOnnxModel(model.graph, { weights: model.weights, target, fuseInProjection: false });
    const dynamic = quantizeDynamic(unpacked, { target });
    const activations = dynamic.decisions.filter((d) => d.quantized).map((d) => d.activation);
    const ranges = await calibrate(unpacked, activations, calibration, { kind: 'percentile', percentile: DEFAULT_PERCENTILE });
    notes.push(`${target}: ${activations.length} of ${dynamic.decisions.length} matmuls int8`);
    for (const [int8, m] of [[undefined, fp32], ['dynamic', dynamic.model], ['static', quantizeStatic(unpacked, ranges, { target }).model]] as const) {
      const session = await ort.InferenceSession.create(encodeModel(m), { graphOptimizationLevel: 'all', logSeverityLevel: 3 });
      forms.push({ label: `ONNX Runtime, ${target}, ${int8 ? `${int8} int8` : 'fp32'}`, target, int8, session });
    }
  }
  const run = async (f: Form, b: number) => (await f.session.run({ image: new ort.Tensor('float32', batchOf(b).data, [b, 3, 224, 224]) })).logits!.data as Float32Array;

  // accuracy: each int8 form against the fp32 form of its target, on the largest batch
  const outputs = new Map<Form, Float32Array>();
  for (const f of forms) outputs.set(f, await run(f, LARGEST));
  const accuracy = new Map<string, string>();
  for (const f of forms.filter((x) => x.int8)) {
    const fp32 = forms.find((x) => x.target === f.target && !x.int8)!;
    accuracy.set(f.label, accuracyText(compareOutputs(logits(outputs.get(fp32)!, LARGEST), logits(outputs.get(f)!, LARGEST))[0]!));
  }

  // latency: the forms in turn, round by round, median per batch
  const ms = new Map<string, Map<number, number>>();
  for (const b of BATCHES) {
    const samples = new Map<Form, number[]>(forms.map((f) => [f, []]));
    for (const f of forms) await run(f, b); // warm-up
    for (let r = 0; r < ROUNDS(b); r++) {
      for (const f of forms) {
        const t0 = performance.now();
        await run(f, b);
        samples.get(f)!.push(performance.now() - t0);
      }
    }
    for (const [f, xs] of samples) ms.set(f.label, (ms.get(f.label) ?? new Map()).set(b, [...xs].sort((x, y) => x - y)[xs.length >> 1]!));
  }
  await Promise.all(forms.map((f) => f.session.release()));

  let torch: { fp32_ms: Record<string, number>; int8_ms: Record<string, number>; fp32_logits: number[]; int8_logits: number[]; engine: string; threads: number; blas: string; linears: number; float_linears: number } | undefined;
  if (weightsFile && withTorch) {
    const r = spawnSync(PYTHON, [path.join(HERE, 'torch_quantize.py'), name, weightsFile, imagesFile, BATCHES.join(',')], { encoding: 'utf8', maxBuffer: 1 << 26, cwd: HERE });
    if (r.status !== 0) say(`PyTorch side failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
    else torch = JSON.parse(r.stdout.trim().split('\n').pop()!);
  }
  if (torch) {
    const ours = logits(outputs.get(forms[0]!)!, LARGEST);
    ms.set('PyTorch eager fp32', new Map(BATCHES.map((b) => [b, torch!.fp32_ms[String(b)]!])));
    ms.set('PyTorch quantize_dynamic int8', new Map(BATCHES.map((b) => [b, torch!.int8_ms[String(b)]!])));
    accuracy.set('PyTorch eager fp32', `${accuracyText(compareOutputs(ours, logits(torch.fp32_logits, LARGEST))[0]!)} vs our fp32`);
    accuracy.set('PyTorch quantize_dynamic int8', accuracyText(compareOutputs(logits(torch.fp32_logits, LARGEST), logits(torch.int8_logits, LARGEST))[0]!));
  }

  say(`static: percentile ${DEFAULT_PERCENTILE} ranges over ${CALIBRATION_IMAGES} other seeded images`);
  const header = ['runtime', ...BATCHES.map((b) => `b${b} ms`), `logits rel. error vs fp32 (b${LARGEST}), top-1`];
  say(table([header, ...[...ms].map(([label, byBatch]) => [label, ...BATCHES.map((b) => byBatch.get(b)!.toFixed(1)), accuracy.get(label) ?? ''])]));
  const ratio = (a: string, b: string) => BATCHES.map((batch) => `batch ${batch}: ${(ms.get(a)!.get(batch)! / ms.get(b)!.get(batch)!).toFixed(2)}`).join(', ');
  for (const target of ['portable', 'onnxruntime']) {
    for (const int8 of ['dynamic', 'static']) say(`${int8} int8 / fp32, ${target}: ${ratio(`ONNX Runtime, ${target}, ${int8} int8`, `ONNX Runtime, ${target}, fp32`)}`);
  }
  if (torch) {
    say(`ours dynamic int8 (onnxruntime) / PyTorch quantize_dynamic: ${ratio('ONNX Runtime, onnxruntime, dynamic int8', 'PyTorch quantize_dynamic int8')}`);
    say(`PyTorch ${torch.threads} threads, engine ${torch.engine}, BLAS: ${torch.blas}; quantize_dynamic replaced ${torch.linears} nn.Linear, left ${torch.float_linears} float (nn.MultiheadAttention's out_proj, its in-projection a bare parameter; Swin's attn.qkv and attn.proj, which torchvision reads as tensors)`);
  }
  say(`${notes.join('; ')}; ONNX Runtime ${ort.env.versions.common}, default threads`);
}
rmSync(dir, { recursive: true, force: true });
