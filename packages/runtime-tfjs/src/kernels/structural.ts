/** Shape, data-movement, reduction and network ops lowered to the best tfjs calls. */
import * as tf from '@tensorflow/tfjs-core';
import { evaluateDim, type ReduceAttrs, sliceRange } from '@tessera/graph-dsl';
import { toTf } from '../host.ts';
import type { Kernel } from './types.ts';

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const sameShape = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  return Array.from({ length: rank }, (_, i) => {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    return x === 1 ? y : x;
  });
}

/**
 * Batched matmul, optionally with transposed operands and a bias on the last axis (nn.Linear),
 * with NumPy broadcasting of the batch dims. tfjs's BatchMatMul flattens each side's batch
 * dims and its gradient does not sum over a broadcast batch, so the operands are brought to
 * one batch shape first: a batched `a` against an unbatched `b` (x @ W) is folded into one 2-D
 * matmul, which is also the fastest call; other mismatched batches are broadcast explicitly
 * (tf.broadcastTo's gradient sums back).
 */
export function matMul(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false, bias?: tf.Tensor): tf.Tensor {
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const batch = broadcastShape(batchA, batchB);
  const [m, n] = [a.shape[a.rank - (transposeA ? 1 : 2)]!, b.shape[b.rank - (transposeB ? 2 : 1)]!];
  if (sameShape(batchA, batchB)) return matMul2(a, b, transposeA, transposeB, bias);
  if (sizeOf(batchB) === 1 && !transposeA) {
    const k = a.shape[a.rank - 1]!;
    const flat = matMul2(tf.reshape(a, [-1, k]), tf.reshape(b, b.shape.slice(-2)), false, transposeB, bias);
    return tf.reshape(flat, [...batch, m, n]);
  }
  const x = sameShape(batchA, batch) ? a : tf.broadcastTo(a, [...batch, ...a.shape.slice(-2)]);
  const y = sameShape(batchB, batch) ? b : tf.broadcastTo(b, [...batch, ...b.shape.slice(-2)]);
  return matMul2(x, y, transposeA, transposeB, bias);
}

/** The last two axes swapped, as a new tensor. */
function swapLast(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1]!, perm[x.rank - 2]!];
  return tf.transpose(x, perm);
}

/** Operands with one batch shape. */
function matMul2(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean, bias?: tf.Tensor): tf.Tensor {
  if (tf.getBackend() === 'wasm') {
    // tfjs-backend-wasm 4.22 multiplies 10-20x slower with a transpose flag than after an
    // explicit transpose (measured in `pnpm bench`), and its _FusedMatMul adds the bias at wrong
    // offsets once a transpose or a batch is involved (tested in kernels.test.ts).
    const product = tf.matMul(transposeA ? swapLast(a) : a, transposeB ? swapLast(b) : b);
    return bias ? tf.add(product, bias) : product;
  }
  if (!bias) return tf.matMul(a, b, transposeA, transposeB);
  return tf.fused.matMul({ a, b, transposeA, transposeB, bias });
}

export const MatMul: Kernel<'MatMul'> = ([a, b]) => [matMul(a!, b!)];

export const Reshape: Kernel<'Reshape'> = ([x], { shape }, { bindings }) => [tf.reshape(x!, shape.map((d) => evaluateDim(d, bindings)))];

export const Transpose: Kernel<'Transpose'> = ([x], { perm }) => [tf.transpose(x!, [...perm])];

export const Concat: Kernel<'Concat'> = (inputs, { axis }) => [inputs.length === 1 ? tf.clone(inputs[0]!) : tf.concat([...inputs], axis)];

/** Python slicing on one axis: step 1 is tf.slice, step -1 a slice reversed, other steps a gather (all differentiable). */
export const Slice: Kernel<'Slice'> = ([x], attrs) => {
  const rank = x!.rank;
  const axis = attrs.axis < 0 ? attrs.axis + rank : attrs.axis;
  const { begin, length } = sliceRange(x!.shape[axis]!, attrs);
  const starts = x!.shape.map((_, i) => (i === axis ? begin : 0));
  const sizes = x!.shape.map((d, i) => (i === axis ? length : d));
  if (attrs.step === 1 || length <= 1) return [tf.slice(x!, starts, sizes)];
  if (attrs.step === -1) {
    starts[axis] = begin - length + 1;
    return [tf.reverse(tf.slice(x!, starts, sizes), axis)];
  }
  return [tf.gather(x!, tf.range(begin, begin + length * attrs.step, attrs.step, 'int32'), axis)];
};

/** Gather along one axis; negative indices count from the end, as in ONNX. */
export const Gather: Kernel<'Gather'> = ([x, indices], { axis }) => {
  const a = axis < 0 ? axis + x!.rank : axis;
  const n = x!.shape[a]!;
  const wrapped = tf.where(tf.less(indices!, 0), tf.add(indices!, tf.scalar(n, 'int32')), indices!);
  return [tf.gather(x!, wrapped, a)];
};

/** torch.roll: out[i] = x[(i - shift) mod n] on each axis, as two slices concatenated. */
export const Roll: Kernel<'Roll'> = ([x], { shifts, axes }) => {
  let out = x!;
  axes.forEach((axis, k) => {
    const a = axis < 0 ? axis + out.rank : axis;
    const n = out.shape[a]!;
    const s = n === 0 ? 0 : ((shifts[k]! % n) + n) % n;
    if (s === 0) return;
    const head = out.shape.map((d, i) => (i === a ? n - s : d));
    const tail = out.shape.map((d, i) => (i === a ? s : d));
    const zeros = out.shape.map(() => 0);
    const from = out.shape.map((_, i) => (i === a ? n - s : 0));
    out = tf.concat([tf.slice(out, from, tail), tf.slice(out, zeros, head)], a);
  });
  return [out === x ? tf.clone(x!) : out];
};

export const Expand: Kernel<'Expand'> = ([x], { shape }, { bindings }) => {
  const target = shape.map((d) => evaluateDim(d, bindings));
  return [sameShape(x!.shape, target) ? tf.clone(x!) : tf.broadcastTo(x!, target)];
};

type ReduceFn = (x: tf.Tensor, axis: number[], keepDims: boolean) => tf.Tensor;
type ReduceKernel = (inputs: readonly tf.Tensor[], attrs: ReduceAttrs) => tf.Tensor[];
const reduce = (f: ReduceFn): ReduceKernel => ([x], { axes, keepdims }) => {
  if (axes.length === 0) return [tf.clone(x!)];
  const y = f(x!, [...axes], keepdims);
  return [y.dtype === x!.dtype ? y : tf.cast(y, x!.dtype)];
};
export const ReduceSum = reduce(tf.sum);
/** An int32 mean truncates back to int32. */
export const ReduceMean = reduce(tf.mean);
export const ReduceMax = reduce(tf.max);

/** tf.softmax works on the last axis; another axis is exp(x - max) / sum, which stays differentiable. */
export const Softmax: Kernel<'Softmax'> = ([x], { axis }) => {
  const a = axis < 0 ? axis + x!.rank : axis;
  if (a === x!.rank - 1) return [tf.softmax(x!)];
  const e = tf.exp(tf.sub(x!, tf.max(x!, a, true)));
  return [tf.div(e, tf.sum(e, a, true))];
};

/** (x - mean) / sqrt(var + eps) over the trailing axes from `axis`, with tf.moments, then weight and bias. */
export const LayerNorm: Kernel<'LayerNorm'> = ([x, weight, bias], { axis, eps }) => {
  const a = axis < 0 ? axis + x!.rank : axis;
  const axes = Array.from({ length: x!.rank - a }, (_, i) => a + i);
  const { mean, variance } = tf.moments(x!, axes, true);
  let y = tf.mul(tf.sub(x!, mean), tf.rsqrt(tf.add(variance, eps)));
  if (weight) y = tf.mul(y, weight);
  if (bias) y = tf.add(y, bias);
  return [y];
};

/** LayerNorm of x + residual, and the sum (the residual stream). */
export const AddLayerNorm: Kernel<'AddLayerNorm'> = ([x, residual, weight, bias], attrs, ctx) => {
  const sum = tf.add(x!, residual!);
  return [LayerNorm([sum, weight!, bias!], attrs, ctx)[0]!, sum];
};

/**
 * NCHW convolution: the input goes to NHWC and the OIHW weights to HWIO for tf.fused.conv2d
 * with explicit pads and the bias fused in; groups equal to the input channels use
 * depthwiseConv2d, other groups run per group. tfjs refuses stride and dilation both above 1,
 * so then it convolves at stride 1 and subsamples.
 */
export const Conv2d: Kernel<'Conv2d'> = ([x, weight, bias], attrs) => {
  const { strides, pads, dilations, groups } = attrs;
  const [o, ci, kh, kw] = weight!.shape as [number, number, number, number];
  const c = x!.shape[1]!;
  const both = strides.some((s) => s > 1) && dilations.some((d) => d > 1);
  const stride: [number, number] = both ? [1, 1] : [strides[0], strides[1]];
  const dilation: [number, number] = [dilations[0], dilations[1]];
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [pads[0], pads[2]], [pads[1], pads[3]], [0, 0]];
  const nhwc = tf.transpose(x!, [0, 2, 3, 1]) as tf.Tensor4D;
  const b = bias as tf.Tensor1D | undefined;
  let y: tf.Tensor4D;
  if (groups === 1) {
    const filter = tf.transpose(weight!, [2, 3, 1, 0]) as tf.Tensor4D;
    y = tf.fused.conv2d({ x: nhwc, filter, strides: stride, pad, dataFormat: 'NHWC', dilations: dilation, ...(b ? { bias: b } : {}) });
  } else if (groups === c && ci === 1) {
    const filter = tf.transpose(tf.reshape(weight!, [c, o / c, kh, kw]), [2, 3, 0, 1]) as tf.Tensor4D;
    y = tf.depthwiseConv2d(nhwc, filter, stride, pad, 'NHWC', dilation);
    if (b) y = tf.add(y, b);
  } else {
    const xs = tf.split(nhwc, groups, 3);
    const ws = tf.split(weight!, groups, 0);
    const parts = xs.map((xg, g) => tf.conv2d(xg as tf.Tensor4D, tf.transpose(ws[g]!, [2, 3, 1, 0]) as tf.Tensor4D, stride, pad, 'NHWC', dilation));
    y = tf.concat(parts, 3);
    if (b) y = tf.add(y, b);
  }
  if (both) {
    const [, h, w] = y.shape;
    const rows = tf.range(0, h, strides[0], 'int32');
    const cols = tf.range(0, w, strides[1], 'int32');
    y = tf.gather(tf.gather(y, rows, 1), cols, 2);
  }
  return [tf.transpose(y, [0, 3, 1, 2])];
};

/** Inverted dropout (scaled by 1/(1-p)) in training mode; identity in eval mode. */
export const Dropout: Kernel<'Dropout'> = ([x], { p }, { training, nextSeed }) => {
  if (!training || p === 0) return [tf.clone(x!)];
  return [tf.dropout(x!, p, undefined, nextSeed?.())];
};

/** Constant padding; tf.pad's gradient slices the padding off. */
export const Pad: Kernel<'Pad'> = ([x], { pads, value }) => [tf.pad(x!, pads.map(([b, a]): [number, number] => [b, a]), value)];

export const Range: Kernel<'Range'> = (_, { start, end, step, dtype }, { bindings }) => [tf.range(start, evaluateDim(end, bindings), step, dtype)];

export const Constant: Kernel<'Constant'> = (_, { value }) => [toTf(value)];
