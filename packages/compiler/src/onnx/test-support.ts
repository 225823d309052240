/**
 * Helpers for the ONNX exporter's tests: running a model in onnxruntime-node, validating it with
 * `onnx.checker` (full check), seeded inputs and weights, and plain-loop reference kernels that
 * know nothing of the exporter.
 */
import { evaluateDim, type Graph, type HostTensor, hostTensor, seededRandom, typeOf } from '@tessera/graph-dsl';
import { checkOnnxModel, onnxCheckerMissing, runOnnxRuntime } from './runtime.ts';

export type Outputs = Record<string, HostTensor>;

/** Runs a model in ONNX Runtime (the exporter's own runner, which the CLI uses too). */
export const runOnnx = runOnnxRuntime;

let warned = false;

/** Whether onnx.checker can run here. In CI it must: CI installs python3-onnx, so its absence is a failure there. */
export function hasPythonOnnx(): boolean {
  const missing = onnxCheckerMissing();
  if (!missing) return true;
  if (process.env.CI) throw new Error(`onnx.checker is required in CI: ${missing}`);
  if (!warned) console.warn(`SKIPPED onnx.checker assertions: ${missing}`);
  warned = true;
  return false;
}

/** onnx.checker's message for a model that fails the full check; undefined when it passes (or, outside CI, cannot run). */
export function checkOnnx(model: string | Uint8Array): string | undefined {
  if (!hasPythonOnnx()) return undefined;
  const r = checkOnnxModel(model);
  return r.ok ? undefined : r.message;
}

/** Seeded values in [-scale, scale). */
export function randomTensor(shape: readonly number[], seed: number, scale = 1): HostTensor<'float32'> {
  const random = seededRandom(seed);
  const t = hostTensor('float32', shape);
  for (let i = 0; i < t.data.length; i++) t.data[i] = (random() * 2 - 1) * scale;
  return t;
}

/** Random values for every parameter (LayerNorm's ones and zeros would hide a swapped scale and bias). */
export function randomWeights(graph: Graph, seed: number): Map<string, HostTensor> {
  const none = new Map<string, number>();
  return new Map(
    graph.params.map((p, i) => {
      const shape = typeOf(graph, p.value).shape.map((d) => evaluateDim(d, none));
      return [p.name, randomTensor(shape, seed * 1000 + i, 0.5)];
    }),
  );
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

// --- plain-loop reference kernels (row-major arrays) ---

/** Row-major strides of a shape. */
export function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

/** Calls `f` with every multi-index of `shape` in row-major order, and its flat index. */
export function forEachIndex(shape: readonly number[], f: (index: number[], flat: number) => void): void {
  const n = shape.reduce((a, b) => a * b, 1);
  const index = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < n; flat++) {
    f(index, flat);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) break;
      index[d] = 0;
    }
  }
}

/** A reference tensor: `f` gives the value at each index of `shape`. */
export function build(shape: readonly number[], f: (index: number[]) => number): { shape: number[]; data: Float64Array } {
  const data = new Float64Array(shape.reduce((a, b) => a * b, 1));
  forEachIndex(shape, (index, flat) => (data[flat] = f(index)));
  return { shape: [...shape], data };
}

/** erf by its Taylor series (|x| < 4, error ~1e-9 in doubles); past 4 it is +-1 within 2e-8. */
export function erf(x: number): number {
  if (Math.abs(x) >= 4) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let n = 1; n < 120; n++) {
    term *= (-x * x) / n;
    const next = term / (2 * n + 1);
    sum += next;
    if (Math.abs(next) < 1e-17) break;
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** y[r, o] = sum_i x[r, i] w[o, i] + b[o] over rows of x (PyTorch's Linear layout). */
export function linearRef(x: ArrayLike<number>, rows: number, inF: number, w: ArrayLike<number>, b: ArrayLike<number> | undefined, outF: number): Float64Array {
  const y = new Float64Array(rows * outF);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      let s = b ? b[o]! : 0;
      for (let i = 0; i < inF; i++) s += x[r * inF + i]! * w[o * inF + i]!;
      y[r * outF + o] = s;
    }
  }
  return y;
}

/** LayerNorm over the last `n` entries of each row. */
export function layerNormRef(x: ArrayLike<number>, rows: number, n: number, weight: ArrayLike<number>, bias: ArrayLike<number>, eps: number): Float64Array {
  const y = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let i = 0; i < n; i++) mean += x[r * n + i]!;
    mean /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (x[r * n + i]! - mean) ** 2;
    v /= n;
    for (let i = 0; i < n; i++) y[r * n + i] = ((x[r * n + i]! - mean) / Math.sqrt(v + eps)) * weight[i]! + bias[i]!;
  }
  return y;
}

/** Softmax over the last `n` entries of each row. */
export function softmaxRef(x: ArrayLike<number>, rows: number, n: number): Float64Array {
  const y = new Float64Array(rows * n);
  for (let r = 0; r < rows; r++) {
    let max = -Infinity;
    for (let i = 0; i < n; i++) max = Math.max(max, x[r * n + i]!);
    let sum = 0;
    for (let i = 0; i < n; i++) sum += Math.exp(x[r * n + i]! - max);
    for (let i = 0; i < n; i++) y[r * n + i] = Math.exp(x[r * n + i]! - max) / sum;
  }
  return y;
}
