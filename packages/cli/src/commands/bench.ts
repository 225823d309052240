/**
 * `tessera bench MODEL`: the median latency of a compiled catalog model on one backend, on seeded
 * random inputs (the batch symbol B from --batch, every other symbolic dim 16).
 */
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { exportOnnx, type OnnxTarget } from '@tessera/compiler';
import { type HostTensor, randomInputs, symbolSizes } from '@tessera/graph-dsl';
import { initBackendInfo, Session } from '@tessera/runtime-tfjs';
import type * as Ort from 'onnxruntime-node';
import { type Args, expectOptions, flag, option, UsageError } from '../args.ts';
import { prepareModel } from '../model.ts';
import { onnxTarget } from '../onnx-target.ts';
import { medianMs } from '../timing.ts';

export const BENCH_USAGE = `  bench MODEL [--config k=v ...] [--weights W.safetensors] [--backend auto|tfjs-node|wasm|cpu|onnxruntime] [--target T]
              [--no-fuse] [--batch N] [--runs N] [--json]
                                         median latency of the compiled model on seeded random inputs`;

const BACKENDS = ['auto', 'tfjs-node', 'wasm', 'cpu', 'onnxruntime'] as const;
type Backend = (typeof BACKENDS)[number];
/** Symbolic dims other than the batch take this size. */
const OTHER_DIMS = 16;
const WARMUP = 3;

function positiveInt(args: Args, name: string, fallback: number): number {
  const text = option(args, name);
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 1e6) throw new UsageError(`--${name} ${text}: expected a whole number from 1 to 1000000`);
  return n;
}


export interface BenchResult {
  readonly model: string;
  readonly backend: string;
  readonly target: string | null;
  readonly fused: boolean;
  readonly batch: number;
  readonly median_ms: number;
  readonly runs: number;
}

export async function benchCommand(args: Args, log: (line: string) => void): Promise<string> {
  expectOptions(args, ['config', 'weights', 'backend', 'no-fuse', 'batch', 'runs', 'json', 'target']);
  const name = args.positional[0];
  if (!name) throw new UsageError('tessera bench needs a MODEL (see tessera list)');
  const backend = (option(args, 'backend') ?? 'auto') as Backend;
  if (!BACKENDS.includes(backend)) throw new UsageError(`--backend ${backend}: expected one of ${BACKENDS.join(', ')}`);
  const batch = positiveInt(args, 'batch', 1);
  const runs = positiveInt(args, 'runs', 10);
  const fused = !flag(args, 'no-fuse');

  const model = await prepareModel(name, args.options.get('config') ?? [], option(args, 'weights'), 0, { fuse: fused });
    const inputs = randomInputs(model.graph, symbolSizes(model.graph, { batch, other: OTHER_DIMS }), 0);
  log(`timing ${name} (${fused ? 'fused' : 'not fused'}), batch ${batch}, ${WARMUP} warm-up runs and ${runs} timed ...`);

  let used: string;
  let ms: number;
  let target: OnnxTarget | null = null;
  if (backend !== 'onnxruntime' && option(args, 'target') !== undefined) throw new UsageError('--target chooses the ONNX file for --backend onnxruntime; the tfjs backends run the compiled graph');
  if (backend === 'onnxruntime') {
    const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;
    target = onnxTarget(args);
    const session = await ort.InferenceSession.create(exportOnnx(model.graph, { weights: model.weights, target }), { graphOptimizationLevel: 'all' });
    const feeds = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, new ort.Tensor(t.dtype, t.data, [...t.shape])]));
    try {
      ms = await medianMs(() => session.run(feeds), { warmup: WARMUP, repeats: runs });
    } finally {
      await session.release();
    }
    used = 'onnxruntime';
  } else {
    const selected = await initBackendInfo(backend);
    log(selected.reason);
    const session = await Session.create(model.graph, { weights: model.weights });
    const tensors = Object.fromEntries(Object.entries(inputs).map(([k, t]: [string, HostTensor]) => [k, tf.tensor(t.data, [...t.shape], t.dtype)]));
    try {
      ms = await medianMs(async () => {
        const out = session.runTensors(tensors);
        for (const t of Object.values(out)) {
          await t.data();
          t.dispose();
        }
      }, { warmup: WARMUP, repeats: runs });
    } finally {
      session.dispose();
      Object.values(tensors).forEach((t) => t.dispose());
    }
    used = selected.name;
  }
  const result: BenchResult = { model: name, backend: used, target, fused, batch, median_ms: +ms.toFixed(3), runs };
  if (flag(args, 'json')) return JSON.stringify(result);
  return `${name} on ${used}${target ? ` (${target} ONNX)` : ''}${fused ? '' : ' (not fused)'}, batch ${batch}: median ${ms.toFixed(2)} ms over ${runs} runs`;
}
