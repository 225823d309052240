/**
 * Smaller weights files (`tessera export --safetensors F --weights-dtype float16|int8`) and the one
 * reader that turns them back into float32: every place that loads weights calls `dequantizeWeights`.
 *
 * float16: IEEE half (F16). int8: symmetric, one scale per row (dim 0, a torch Linear's or Conv's
 * output channel): the file holds `key` as I8 and `key:scale` as F32 of shape [dim 0], and
 * W[i, ...] = I8[i, ...] * scale[i]. Tensors of fewer than 2 dims (biases, norm weights) or under
 * SMALLEST_NARROWED values stay F32, as do integer tensors. No torch state_dict key has a ':'
 * (a module attribute name), so a scale key never names a parameter.
 */
import type { HostTensor } from '@tessera/graph-dsl';
import type { Decoded, Narrow } from './codec.ts';
import { SafetensorsError } from './error.ts';

export const WEIGHTS_DTYPES = ['float32', 'float16', 'int8'] as const;
export type WeightsDType = (typeof WEIGHTS_DTYPES)[number];

export const SCALE_SUFFIX = ':scale';
/** Tensors with fewer values stay float32: their scales would weigh as much as they save. */
export const SMALLEST_NARROWED = 1024;
/** The `__metadata__` key that says how the weights are stored; its scheme is under SCHEME_KEY. */
export const DTYPE_KEY = 'tessera.weights_dtype';
export const SCHEME_KEY = 'tessera.weights_scheme';

const FLOAT16_MAX = 65504;
const KEPT_RULE = `tensors of fewer than 2 dims (biases, norm weights), of under ${SMALLEST_NARROWED} values, or not float32 stay F32 (or their integer dtype)`;
const SCHEMES: Readonly<Record<WeightsDType, string>> = {
  float32: 'every tensor as it is',
  float16: `IEEE half (F16); ${KEPT_RULE}, and so do tensors with finite values beyond float16's +-${FLOAT16_MAX}`,
  int8: `symmetric per row: KEY is I8 and KEY${SCALE_SUFFIX} F32 of shape [dim 0], W[i, ...] = I8[i, ...] * scale[i]; ${KEPT_RULE}, and so do tensors with values that are not finite`,
};

export interface NarrowedWeights {
  /** What to write: int8 tensors as their int32 values, with their scales beside them. */
  readonly tensors: Map<string, HostTensor>;
  /** The tensors written narrower than their dtype. */
  readonly narrow: Map<string, Narrow>;
  readonly metadata: Record<string, string>;
  /** Each tensor left as it was, with why. */
  readonly kept: Map<string, string>;
}

/** The `__metadata__` that says how a file's weights are stored. */
export function weightsMetadata(dtype: WeightsDType): Record<string, string> {
  return { [DTYPE_KEY]: dtype, [SCHEME_KEY]: SCHEMES[dtype] };
}

/** Why a tensor stays as it is under `dtype`, or undefined when it is narrowed. */
export function keptBecause(t: HostTensor, dtype: WeightsDType): string | undefined {
  if (dtype === 'float32') return 'float32 asked for';
  if (t.dtype !== 'float32') return `${t.dtype}, not float32`;
  if (t.shape.length < 2) return 'fewer than 2 dims';
  if (t.data.length < SMALLEST_NARROWED) return `under ${SMALLEST_NARROWED} values`;
  // a finite value past float16's largest would become infinity
  const fits = dtype === 'int8' ? Number.isFinite : (v: number) => !Number.isFinite(v) || Math.abs(v) <= FLOAT16_MAX;
  return Array.prototype.every.call(t.data, fits) ? undefined : dtype === 'int8' ? 'values that are not finite' : `values beyond float16's +-${FLOAT16_MAX}`;
}

/** Whether `key` is `module`'s or below it, by state_dict path (`head` holds `head.weight`, not `heads.0.weight`). */
export const underModule = (key: string, module: string): boolean => key === module || key.startsWith(`${module}.`);

/**
 * The weights as `dtype` stores them (see the file's comment), those under the `exclude` module
 * paths as they are; write them with `writeSafetensorsFile(file, tensors, metadata, narrow)`.
 */
export function narrowWeights(weights: ReadonlyMap<string, HostTensor>, dtype: WeightsDType, exclude: readonly string[] = []): NarrowedWeights {
  const tensors = new Map<string, HostTensor>();
  const narrow = new Map<string, Narrow>();
  const kept = new Map<string, string>();
  for (const [key, t] of weights) {
    const why = exclude.some((m) => underModule(key, m)) ? 'excluded' : keptBecause(t, dtype);
    if (why !== undefined) {
      kept.set(key, why);
      tensors.set(key, t);
    } else if (dtype === 'float16') {
      tensors.set(key, t);
      narrow.set(key, 'F16');
    } else {
      const { values, scales } = quantizeRows(t);
      tensors.set(key, values).set(`${key}${SCALE_SUFFIX}`, scales);
      narrow.set(key, 'I8');
    }
  }
  return { tensors, narrow, kept, metadata: weightsMetadata(dtype) };
}

/** Symmetric int8 per row: scale = max |row| / 127 (a float32), values round(W / scale) in -127..127. */
function quantizeRows(t: HostTensor): { values: HostTensor; scales: HostTensor } {
  const rows = t.shape[0]!;
  const width = t.data.length / rows;
  const values = new Int32Array(t.data.length);
  const scales = new Float32Array(rows);
  for (let r = 0; r < rows; r++) {
    let peak = 0;
    for (let i = r * width; i < (r + 1) * width; i++) peak = Math.max(peak, Math.abs(t.data[i]!));
    scales[r] = peak / 127;
    // an all-zero row (torchvision's initial heads) stays zeros
    if (scales[r]! > 0) for (let i = r * width; i < (r + 1) * width; i++) values[i] = Math.max(-127, Math.min(127, Math.round(t.data[i]! / scales[r]!)));
  }
  return { values: { dtype: 'int32', shape: t.shape, data: values }, scales: { dtype: 'float32', shape: [rows], data: scales } };
}

/**
 * A decoded file's tensors with every int8 tensor multiplied back by its scales (float32), the
 * scales taken out; F16 is float32 already (the decoder widens it). A file that is not quantized
 * comes back as it is. An error names `source` and the tensor: scales without their I8 tensor or of
 * the wrong shape, an I8 tensor without scales in a file whose metadata says int8.
 */
export function dequantizeWeights(decoded: Decoded, source: string): Map<string, HostTensor> {
  const fail = (what: string): never => {
    throw new SafetensorsError(`${source}: ${what}`);
  };
  const out = new Map(decoded.tensors);
  for (const [scaleKey, scales] of decoded.tensors) {
    if (!scaleKey.endsWith(SCALE_SUFFIX)) continue;
    const key = scaleKey.slice(0, -SCALE_SUFFIX.length);
    const values = decoded.tensors.get(key);
    const stored = decoded.stored.get(key);
    if (!values) fail(`tensor '${scaleKey}' holds the int8 scales of '${key}', which the file does not have; expected an I8 tensor '${key}' beside it`);
    if (stored !== 'I8') fail(`tensor '${key}' is ${stored} but has int8 scales '${scaleKey}'; expected I8 values beside the scales`);
    const rows = values!.shape[0];
    if (scales.dtype !== 'float32' || rows === undefined || scales.shape.length !== 1 || scales.shape[0] !== rows) {
      fail(`tensor '${scaleKey}' is ${decoded.stored.get(scaleKey)}[${scales.shape.join(', ')}], but the I8 tensor '${key}' [${values!.shape.join(', ')}] needs one float scale per row (dim 0)${rows === undefined ? ' and has no rows' : `: F32[${rows}]`}`);
    }
    out.set(key, dequantizeRows(values!, scales.data as Float32Array));
    out.delete(scaleKey);
  }
  if (decoded.metadata[DTYPE_KEY] === 'int8') {
    const unscaled = [...decoded.stored].find(([key, dtype]) => dtype === 'I8' && !decoded.tensors.has(`${key}${SCALE_SUFFIX}`));
    if (unscaled) fail(`tensor '${unscaled[0]}' is I8 without its scales '${unscaled[0]}${SCALE_SUFFIX}' (the file's __metadata__ says ${DTYPE_KEY} int8); expected an F32 tensor of one scale per row (dim 0) beside it`);
  }
  return out;
}

function dequantizeRows(values: HostTensor, scales: Float32Array): HostTensor {
  const width = values.data.length / scales.length;
  return { dtype: 'float32', shape: values.shape, data: Float32Array.from(values.data, (v, i) => v * scales[Math.floor(i / width)]!) };
}
