/**
 * Calibration for static quantization: the range of each activation a quantized matmul reads,
 * measured by running the fp32 model on ONNX Runtime over representative inputs, with those
 * activations as extra outputs. Two methods:
 *   - minmax: the smallest and largest value seen (every value fits; one outlier widens the
 *     step for all the others);
 *   - percentile p: each tail clipped at the p-th percentile of the values seen (a histogram of
 *     2048 bins over the min/max range, in a second pass), as ONNX Runtime's and TensorRT's
 *     percentile calibrators do (they default to 99.99 and 99.999).
 */
import type { HostTensor } from '@tessera/graph-dsl';
import type { OnnxFileOptions } from './files.ts';
import type { ModelProto } from './proto.ts';
import { DataType } from './proto.ts';
import type { ActivationRange } from './quantize.ts';
import { openOnnxModel } from './runtime.ts';

export type CalibrationMethod = { readonly kind: 'minmax' } | { readonly kind: 'percentile'; readonly percentile: number };

const BINS = 2048;

/** The model with `names` (values its graph computes) as outputs too. */
function exposing(model: ModelProto, names: readonly string[]): ModelProto {
  const graph = model.graph ?? {};
  const outputs = new Set((graph.output ?? []).map((o) => o.name));
  const extra = names.filter((n) => !outputs.has(n)).map((name) => ({ name, type: { tensorType: { elemType: DataType.FLOAT } } }));
  return { ...model, graph: { ...graph, output: [...(graph.output ?? []), ...extra] } };
}

/** Percentile `p` (0..100) of a histogram's values, by linear interpolation within the bin it falls in. */
export function histogramPercentile(counts: ArrayLike<number>, lo: number, hi: number, p: number): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  const target = (p / 100) * total;
  const width = (hi - lo) / counts.length;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (seen + c >= target && c > 0) return lo + width * (i + (target - seen) / c);
    seen += c;
  }
  return hi;
}

/**
 * Each activation's range over `batches` (each a set of the model's inputs), by `method`. The
 * session is opened once (external data for models past 2 GiB, as runOnnxModel).
 */
export async function calibrate(
  model: ModelProto, activations: readonly string[], batches: readonly Readonly<Record<string, HostTensor>>[], method: CalibrationMethod,
  external: Pick<OnnxFileOptions, 'externalData'> = {},
): Promise<Map<string, ActivationRange>> {
  if (!batches.length) throw new Error('calibrate: no calibration inputs');
  const names = [...new Set(activations)];
  const session = await openOnnxModel(exposing(model, names), external);
  try {
    const seen = (out: Record<string, HostTensor>, name: string) => {
      const t = out[name];
      if (!t || t.dtype !== 'float32') throw new Error(`calibrate: ${name} is not a float value the model computes`);
      return t.data as Float32Array;
    };
    const min = new Map(names.map((n) => [n, Infinity]));
    const max = new Map(names.map((n) => [n, -Infinity]));
    for (const batch of batches) {
      const out = await session.run(batch);
      for (const name of names) {
        const data = seen(out, name);
        let [lo, hi] = [min.get(name)!, max.get(name)!];
        for (let i = 0; i < data.length; i++) {
          const v = data[i]!;
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        min.set(name, lo);
        max.set(name, hi);
      }
    }
    if (method.kind === 'minmax') return new Map(names.map((n) => [n, { min: min.get(n)!, max: max.get(n)! }]));
    const histograms = new Map(names.map((n) => [n, new Float64Array(BINS)]));
    for (const batch of batches) {
      const out = await session.run(batch);
      for (const name of names) {
        const [lo, hi, counts] = [min.get(name)!, max.get(name)!, histograms.get(name)!];
        const perBin = BINS / (hi - lo || 1);
        const data = seen(out, name);
        for (let i = 0; i < data.length; i++) counts[Math.min(BINS - 1, Math.floor((data[i]! - lo) * perBin))]!++;
      }
    }
    const p = method.percentile;
    return new Map(names.map((n) => {
      const [lo, hi, counts] = [min.get(n)!, max.get(n)!, histograms.get(n)!];
      return [n, { min: histogramPercentile(counts, lo, hi, 100 - p), max: histogramPercentile(counts, lo, hi, p) }];
    }));
  } finally {
    await session.release();
  }
}
