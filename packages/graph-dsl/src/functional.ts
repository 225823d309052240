/** Functional ops under PyTorch's `torch.nn.functional` names. */
import type { DType } from './dtype.ts';
import { type DimLike, toDim } from './dim.ts';
import type { InterpolateMode } from './ops/index.ts';
import { apply, applyMany, axis, constant, refuse, type Tensor } from './tensor.ts';

export function linear<R extends number>(x: Tensor<'float32', R>, weight: Tensor<'float32', 2>, bias?: Tensor<'float32', 1>): Tensor<'float32', R> {
  const y = x.matmul(weight.mT) as Tensor<'float32', R>;
  return bias ? (y.add(bias) as Tensor<'float32', R>) : y;
}

/** `F.layer_norm` over the last `normalizedDims` axes. */
export function layerNorm<R extends number>(x: Tensor<'float32', R>, normalizedDims: number, weight?: Tensor<'float32'>, bias?: Tensor<'float32'>, eps = 1e-5): Tensor<'float32', R> {
  return apply<'LayerNorm', Tensor<'float32', R>>(x, 'LayerNorm', [x, weight ?? null, bias ?? null], { axis: -normalizedDims, eps });
}

/** Exact GELU, x * Phi(x) with the error function, as `nn.GELU()` by default. */
export function gelu<R extends number>(x: Tensor<'float32', R>): Tensor<'float32', R> {
  return x.mul(x.mul(Math.SQRT1_2).erf().add(1)).mul(0.5) as Tensor<'float32', R>;
}

export function relu<R extends number>(x: Tensor<'float32', R>): Tensor<'float32', R> {
  return x.relu();
}

export function softmax<R extends number>(x: Tensor<'float32', R>, dim: number): Tensor<'float32', R> {
  return x.softmax(dim);
}

/** Dropout; active only when the graph is compiled in training mode. */
export function dropout<R extends number>(x: Tensor<'float32', R>, p: number): Tensor<'float32', R> {
  return p === 0 ? x : apply<'Dropout', Tensor<'float32', R>>(x, 'Dropout', [x], { p });
}

export function embedding(input: Tensor<'int32'>, weight: Tensor<'float32', 2>): Tensor<'float32', number> {
  return weight.gather(0, input) as Tensor<'float32', number>;
}

export interface Conv2dOptions {
  stride?: number | readonly [number, number];
  padding?: number | readonly [number, number];
  dilation?: number | readonly [number, number];
  groups?: number;
}

const pair = (v: number | readonly [number, number]): readonly [number, number] => (typeof v === 'number' ? [v, v] : v);

export function conv2d(x: Tensor<'float32', 4>, weight: Tensor<'float32', 4>, bias?: Tensor<'float32', 1>, options: Conv2dOptions = {}): Tensor<'float32', 4> {
  const [ph, pw] = pair(options.padding ?? 0);
  return apply<'Conv2d', Tensor<'float32', 4>>(x, 'Conv2d', [x, weight, bias ?? null], {
    strides: pair(options.stride ?? 1),
    pads: [ph, pw, ph, pw],
    dilations: pair(options.dilation ?? 1),
    groups: options.groups ?? 1,
  });
}

/**
 * `F.pad(x, pad, mode='constant', value=0)`: `pad` lists (before, after) counts from the last dim
 * backwards, as PyTorch's; a negative count crops.
 */
export function pad<D extends 'float32' | 'int32', R extends number>(x: Tensor<D, R>, pad: readonly number[], mode: 'constant' = 'constant', value = 0): Tensor<D, R> {
  const self = { input: x };
  if (mode !== 'constant') refuse('pad', `mode '${String(mode)}' is not supported (only 'constant')`, self);
  if (pad.length % 2 !== 0 || pad.length > 2 * x.rank) refuse('pad', `the pad list [${pad.join(', ')}] must hold a (before, after) pair for each of up to ${x.rank} dims`, self);
  if (!pad.every(Number.isInteger)) refuse('pad', `pad counts must be whole numbers, got [${pad.join(', ')}]`, self);
  const pairs = x.shape.map((_, i): [number, number] => {
    const k = x.rank - 1 - i; // F.pad's pair k is for dim -1-k
    return [pad[2 * k] ?? 0, pad[2 * k + 1] ?? 0];
  });
  let cropped: Tensor<D, R> = x;
  pairs.forEach(([before, after], i) => {
    if (before >= 0 && after >= 0) return;
    const n = x.shape[i]!;
    if (typeof n === 'number' && n + Math.min(before, 0) + Math.min(after, 0) < 0) refuse('pad', `dim ${i} of size ${n} cropped by ${before} and ${after} would have a negative size`, self);
    cropped = cropped.slice(i, Math.max(0, -before), after < 0 ? after : undefined);
  });
  const pads = pairs.map(([b, a]): [number, number] => [Math.max(b, 0), Math.max(a, 0)]);
  if (pads.every(([b, a]) => b === 0 && a === 0)) return cropped;
  return apply<'Pad', Tensor<D, R>>(cropped, 'Pad', [cropped], { pads, value });
}

export interface InterpolateOptions {
  /** The output's (H, W), or one number for both. */
  readonly size?: number | readonly [number, number];
  /** The output is floor(input size * scale_factor); without align_corners coordinates scale by 1/scale_factor, as PyTorch's. */
  readonly scaleFactor?: number | readonly [number, number];
  readonly mode: InterpolateMode;
  /** Default false, as PyTorch's None. */
  readonly alignCorners?: boolean;
  /** Coordinates from the sizes (in/out) instead of the given scale_factor. */
  readonly recomputeScaleFactor?: boolean;
}

/** `F.interpolate(x, size=, scale_factor=, mode='bilinear' | 'bicubic', align_corners=)` on (N, C, H, W), as PyTorch (bicubic A = -0.75, border clamped). */
export function interpolate(x: Tensor<'float32', 4>, options: InterpolateOptions): Tensor<'float32', 4> {
  const self = { input: x };
  const { size, scaleFactor, mode, alignCorners = false } = options;
  if ((size === undefined) === (scaleFactor === undefined)) refuse('interpolate', 'give exactly one of size and scaleFactor', self);
  if (mode !== 'bilinear' && mode !== 'bicubic') refuse('interpolate', `mode '${String(mode)}' is not supported (bilinear or bicubic)`, self);
  if (x.rank !== 4) refuse('interpolate', `${mode} mode needs a 4-D input (N, C, H, W), got rank ${x.rank}`, self);
  const two = (v: number | readonly [number, number]): readonly [number, number] => (typeof v === 'number' ? [v, v] : v);
  let attrs: { size: readonly [number, number]; scales?: readonly [number, number] };
  if (scaleFactor === undefined) attrs = { size: two(size!) };
  else {
    const [h, w] = [x.shape[2], x.shape[3]];
    if (typeof h !== 'number' || typeof w !== 'number') refuse('interpolate', `scaleFactor needs a concrete input size, got ${String(h)} x ${String(w)}`, self);
    const scales = two(scaleFactor);
    const out: [number, number] = [Math.floor(h * scales[0]), Math.floor(w * scales[1])];
    attrs = options.recomputeScaleFactor || alignCorners ? { size: out } : { size: out, scales };
  }
  return apply<'Interpolate', Tensor<'float32', 4>>(x, 'Interpolate', [x], { mode, alignCorners, ...attrs });
}

/** `torch.cat`. */
export function cat<D extends DType, R extends number>(tensors: readonly Tensor<D, R>[], dim = 0): Tensor<D, R> {
  const first = tensors[0];
  if (!first) throw new Error('cat: needs at least one tensor');
  if (tensors.length === 1) return first;
  return applyMany(first.ref().graph, 'Concat', tensors, { axis: axis('cat', first, dim) })[0] as unknown as Tensor<D, R>;
}

/** `torch.where(condition, a, b)`; a number operand takes the other operand's dtype. */
export function where<D extends DType>(condition: Tensor<'bool'>, a: Tensor<D> | number, b: Tensor<D> | number): Tensor<D, number> {
  const like = typeof a === 'number' ? (typeof b === 'number' ? undefined : b) : a;
  const dtype = like?.dtype ?? 'float32';
  const lift = (v: Tensor<D> | number) => (typeof v === 'number' ? full(condition, v, dtype) : v);
  return apply<'Where', Tensor<D, number>>(condition, 'Where', [condition, lift(a), lift(b)], {});
}

/** A scalar constant in the graph of `like`. */
export function full<D extends DType>(like: Tensor, value: number, dtype: D): Tensor<D, 0> {
  return constant(like, value, dtype) as Tensor<D, 0>;
}

/** `torch.arange(start, end)` in the graph of `like`; `end` may be symbolic. */
export function arange(like: Tensor, end: DimLike, options: { start?: number; step?: number; dtype?: 'float32' | 'int32' } = {}): Tensor<'int32' | 'float32', 1> {
  return apply<'Range', Tensor<'int32' | 'float32', 1>>(like, 'Range', [], { start: options.start ?? 0, end: toDim(end), step: options.step ?? 1, dtype: options.dtype ?? 'int32' });
}

export interface ScaledDotProductAttentionOptions {
  /** Boolean: true marks a (query, key) pair that takes part; float: added to the scores. Broadcasts to (..., L, S). */
  readonly attnMask?: Tensor<'bool' | 'float32'>;
  /** Dropout on the attention probabilities, active only when the graph is compiled in training mode. */
  readonly dropoutP?: number;
  readonly isCausal?: boolean;
  /** Defaults to 1/sqrt(E). */
  readonly scale?: number;
}

/**
 * `F.scaled_dot_product_attention(query, key, value, attn_mask, dropout_p, is_causal, scale)`:
 * query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev), recorded as one Attention op.
 */
export function scaledDotProductAttention<R extends number>(query: Tensor<'float32', R>, key: Tensor<'float32', R>, value: Tensor<'float32', R>, options: ScaledDotProductAttentionOptions = {}): Tensor<'float32', R> {
  const e = query.size(-1);
  if (typeof e !== 'number' && options.scale === undefined) throw new Error(`scaledDotProductAttention: the query width ${String(e)} is symbolic; give the scale`);
  const scale = options.scale ?? 1 / Math.sqrt(e as number);
  const mask = options.attnMask;
  const [bias, keep] = mask === undefined ? [null, null] : mask.dtype === 'bool' ? [null, mask] : [mask, null];
  const p = options.dropoutP ?? 0;
  const attrs = { numHeads: 0, scale, causal: options.isCausal ?? false, maskFill: -Infinity, probs: p > 0 };
  const [out, probs] = applyMany(query.ref().graph, 'Attention', [query, key, value, bias, keep], attrs);
  if (p === 0) return out as Tensor<'float32', R>;
  // Dropout acts on the probabilities before their product with V: the op gives them, V is applied after.
  return dropout(probs as Tensor<'float32', number>, p).matmul(value) as Tensor<'float32', R>;
}
