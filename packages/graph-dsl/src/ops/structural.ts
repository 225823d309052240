import type { DType, HostTensor } from '../dtype.ts';
import { addDims, type Dim, dimsEqual, dimToString, divDims, isSymbolic, shapeToString, subDims } from '../dim.ts';
import { broadcastShapes, defineOp, expectRank, normalizeAxis, numElements, ShapeError, sliceRange, type SliceAttrs } from './op.ts';

const ANY: readonly DType[] = ['float32', 'int32', 'bool'];

export const MatMul = defineOp<Record<string, never>>({
  name: 'MatMul',
  inputs: [
    { name: 'a', dtypes: ['float32'] },
    { name: 'b', dtypes: ['float32'] },
  ],
  infer: ([a, b]) => {
    expectRank(a!, 'a', [2, 3, 4, 5, 6]);
    expectRank(b!, 'b', [2, 3, 4, 5, 6]);
    const k1 = a!.shape[a!.shape.length - 1]!;
    const k2 = b!.shape[b!.shape.length - 2]!;
    if (!dimsEqual(k1, k2)) {
      throw new ShapeError(`the last dim of a (${dimToString(k1)}) must equal the second-to-last dim of b (${dimToString(k2)})`);
    }
    const batch = broadcastShapes([a!.shape.slice(0, -2), b!.shape.slice(0, -2)]);
    return [{ dtype: 'float32', shape: [...batch, a!.shape[a!.shape.length - 2]!, b!.shape[b!.shape.length - 1]!] }];
  },
});

/** `F.linear`: x @ weight^T + bias, weight (out, in) as nn.Linear keeps it. */
export const Linear = defineOp<Record<string, never>>({
  name: 'Linear',
  inputs: [
    { name: 'x', dtypes: ['float32'] },
    { name: 'weight', dtypes: ['float32'] },
    { name: 'bias', dtypes: ['float32'], optional: true },
  ],
  infer: ([x, w, b]) => {
    if (x!.shape.length < 1) throw new ShapeError('x must have at least one dim (..., in_features)');
    expectRank(w!, 'weight (out_features, in_features)', [2]);
    const [out, inF] = w!.shape as [Dim, Dim];
    const last = x!.shape[x!.shape.length - 1]!;
    if (!dimsEqual(last, inF)) throw new ShapeError(`the last dim of x (${dimToString(last)}) must equal in_features of weight ${shapeToString(w!.shape)}`);
    if (b && !(b.shape.length === 1 && dimsEqual(b.shape[0]!, out))) throw new ShapeError(`bias ${shapeToString(b.shape)} must be [${dimToString(out)}]`);
    return [{ dtype: 'float32', shape: [...x!.shape.slice(0, -1), out] }];
  },
});

export const Reshape = defineOp<{ shape: readonly Dim[] }>({
  name: 'Reshape',
  inputs: [{ name: 'x', dtypes: ANY }],
  infer: ([x], { shape }) => {
    if (!dimsEqual(numElements(x!.shape), numElements(shape))) {
      throw new ShapeError(`cannot reshape ${shapeToString(x!.shape)} (${dimToString(numElements(x!.shape))} elements) to ${shapeToString(shape)} (${dimToString(numElements(shape))} elements)`);
    }
    return [{ dtype: x!.dtype, shape }];
  },
});

export const Transpose = defineOp<{ perm: readonly number[] }>({
  name: 'Transpose',
  inputs: [{ name: 'x', dtypes: ANY }],
  infer: ([x], { perm }) => {
    const rank = x!.shape.length;
    if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
      throw new ShapeError(`perm [${perm.join(', ')}] is not a permutation of the ${rank} axes of ${shapeToString(x!.shape)}`);
    }
    return [{ dtype: x!.dtype, shape: perm.map((p) => x!.shape[p]!) }];
  },
});

export const Concat = defineOp<{ axis: number }>({
  name: 'Concat',
  inputs: [{ name: 'inputs', dtypes: ANY }],
  variadic: true,
  infer: (inputs, { axis }) => {
    const first = inputs[0]!;
    const rank = first.shape.length;
    const a = normalizeAxis(axis, rank);
    let total: Dim = 0;
    inputs.forEach((t, i) => {
      if (t!.dtype !== first.dtype) throw new ShapeError(`input ${i} is ${t!.dtype}, input 0 is ${first.dtype}`);
      if (t!.shape.length !== rank || t!.shape.some((d, j) => j !== a && !dimsEqual(d, first.shape[j]!))) {
        throw new ShapeError(`input ${i} ${shapeToString(t!.shape)} must match input 0 ${shapeToString(first.shape)} on every axis but ${axis}`);
      }
      total = addDims(total, t!.shape[a]!);
    });
    return [{ dtype: first.dtype, shape: first.shape.map((d, j) => (j === a ? total : d)) }];
  },
});

export const Slice = defineOp<SliceAttrs>({
  name: 'Slice',
  inputs: [{ name: 'x', dtypes: ANY }],
  infer: ([x], attrs) => {
    const a = normalizeAxis(attrs.axis, x!.shape.length);
    const n = x!.shape[a]!;
    if (attrs.step === 0) throw new ShapeError('slice step cannot be zero');
    let length: Dim;
    if (typeof n === 'number') length = sliceRange(n, attrs).length;
    else {
      if (attrs.step !== 1) throw new ShapeError(`a slice with step ${attrs.step} needs a concrete size on axis ${attrs.axis}, got ${dimToString(n)}`);
      const resolve = (v: number): Dim => (v < 0 ? addDims(n, v) : v);
      length = subDims(attrs.end === undefined ? n : resolve(attrs.end), resolve(attrs.start));
    }
    return [{ dtype: x!.dtype, shape: x!.shape.map((d, j) => (j === a ? length : d)) }];
  },
});

export const Gather = defineOp<{ axis: number }>({
  name: 'Gather',
  inputs: [
    { name: 'x', dtypes: ANY },
    { name: 'indices', dtypes: ['int32'] },
  ],
  infer: ([x, indices], { axis }) => {
    const a = normalizeAxis(axis, x!.shape.length);
    return [{ dtype: x!.dtype, shape: [...x!.shape.slice(0, a), ...indices!.shape, ...x!.shape.slice(a + 1)] }];
  },
});

export const Roll = defineOp<{ shifts: readonly number[]; axes: readonly number[] }>({
  name: 'Roll',
  inputs: [{ name: 'x', dtypes: ANY }],
  infer: ([x], { shifts, axes }) => {
    if (shifts.length !== axes.length) throw new ShapeError(`roll needs one shift per axis, got ${shifts.length} shifts and ${axes.length} axes`);
    axes.forEach((a) => normalizeAxis(a, x!.shape.length));
    return [x!];
  },
});

export const Expand = defineOp<{ shape: readonly Dim[] }>({
  name: 'Expand',
  inputs: [{ name: 'x', dtypes: ANY }],
  infer: ([x], { shape }) => {
    if (shape.length < x!.shape.length) throw new ShapeError(`cannot expand ${shapeToString(x!.shape)} to fewer dims ${shapeToString(shape)}`);
    const out = broadcastShapes([x!.shape, shape]);
    if (!out.every((d, i) => dimsEqual(d, shape[i]!))) throw new ShapeError(`cannot expand ${shapeToString(x!.shape)} to ${shapeToString(shape)}: only size-1 dims stretch`);
    return [{ dtype: x!.dtype, shape }];
  },
});

export interface ReduceAttrs {
  readonly axes: readonly number[];
  readonly keepdims: boolean;
}

function reduction<N extends string>(name: N) {
  return defineOp<ReduceAttrs>({
    name,
    inputs: [{ name: 'x', dtypes: ['float32', 'int32'] }],
    infer: ([x], { axes, keepdims }) => {
      const rank = x!.shape.length;
      const set = new Set(axes.map((a) => normalizeAxis(a, rank)));
      const shape = x!.shape.flatMap((d, i) => (set.has(i) ? (keepdims ? [1] : []) : [d]));
      return [{ dtype: x!.dtype, shape }];
    },
  });
}

export const ReduceSum = reduction('ReduceSum');
export const ReduceMean = reduction('ReduceMean');
export const ReduceMax = reduction('ReduceMax');

export const Softmax = defineOp<{ axis: number }>({
  name: 'Softmax',
  inputs: [{ name: 'x', dtypes: ['float32'] }],
  infer: ([x], { axis }) => {
    normalizeAxis(axis, x!.shape.length);
    return [x!];
  },
});

/** LayerNorm over the trailing axes from `axis` on, as torch's normalized_shape. */
export const LayerNorm = defineOp<{ axis: number; eps: number }>({
  name: 'LayerNorm',
  inputs: [
    { name: 'x', dtypes: ['float32'] },
    { name: 'weight', dtypes: ['float32'], optional: true },
    { name: 'bias', dtypes: ['float32'], optional: true },
  ],
  infer: ([x, weight, bias], { axis }) => {
    const a = normalizeAxis(axis, x!.shape.length);
    const normalized = x!.shape.slice(a);
    for (const [name, t] of [['weight', weight], ['bias', bias]] as const) {
      if (t && (t.shape.length !== normalized.length || t.shape.some((d, i) => !dimsEqual(d, normalized[i]!)))) {
        throw new ShapeError(`${name} ${shapeToString(t.shape)} must have the normalized shape ${shapeToString(normalized)}`);
      }
    }
    return [x!];
  },
});

/**
 * A residual add, then LayerNorm over the sum: (LayerNorm(x + residual), x + residual). The sum
 * is the second output, for the residual stream that goes on. ONNX Runtime's SkipLayerNormalization.
 */
export const AddLayerNorm = defineOp<{ axis: number; eps: number }>({
  name: 'AddLayerNorm',
  inputs: [
    { name: 'x', dtypes: ['float32'] },
    { name: 'residual', dtypes: ['float32'] },
    { name: 'weight', dtypes: ['float32'], optional: true },
    { name: 'bias', dtypes: ['float32'], optional: true },
  ],
  infer: ([x, residual, weight, bias], attrs) => {
    if (residual!.shape.length !== x!.shape.length || residual!.shape.some((d, i) => !dimsEqual(d, x!.shape[i]!))) {
      throw new ShapeError(`residual ${shapeToString(residual!.shape)} must have the shape of x ${shapeToString(x!.shape)}`);
    }
    const [normalized] = LayerNorm.infer([x, weight, bias], attrs);
    return [normalized!, x!];
  },
});

export interface Conv2dAttrs {
  readonly strides: readonly [number, number];
  /** top, left, bottom, right */
  readonly pads: readonly [number, number, number, number];
  readonly dilations: readonly [number, number];
  readonly groups: number;
}

export const Conv2d = defineOp<Conv2dAttrs>({
  name: 'Conv2d',
  inputs: [
    { name: 'x', dtypes: ['float32'] },
    { name: 'weight', dtypes: ['float32'] },
    { name: 'bias', dtypes: ['float32'], optional: true },
  ],
  infer: ([x, w, b], { strides, pads, dilations, groups }) => {
    expectRank(x!, 'x (N, C, H, W)', [4]);
    expectRank(w!, 'weight (out, in/groups, kH, kW)', [4]);
    const [n, c, h, wd] = x!.shape as [Dim, Dim, Dim, Dim];
    const [o, ci, kh, kw] = w!.shape as [Dim, Dim, Dim, Dim];
    if (!dimsEqual(divDims(c, groups), ci)) throw new ShapeError(`x has ${dimToString(c)} channels, weight expects ${dimToString(ci)} x ${groups} groups`);
    if (b && !(b.shape.length === 1 && dimsEqual(b.shape[0]!, o))) throw new ShapeError(`bias ${shapeToString(b.shape)} must be [${dimToString(o)}]`);
    if (isSymbolic(kh) || isSymbolic(kw)) throw new ShapeError('kernel size must be concrete');
    const out = (size: Dim, k: number, s: number, d: number, p0: number, p1: number): Dim => {
      const span = subDims(addDims(size, p0 + p1), d * (k - 1) + 1);
      if (typeof span === 'number') {
        if (span < 0) throw new ShapeError(`input size ${size} with padding is smaller than the kernel (${k})`);
        return Math.floor(span / s) + 1;
      }
      return addDims(divDims(span, s), 1);
    };
    return [{
      dtype: 'float32',
      shape: [n, o, out(h, kh, strides[0], dilations[0], pads[0], pads[2]), out(wd, kw, strides[1], dilations[1], pads[1], pads[3])],
    }];
  },
});

/** Zeroes elements with probability p and scales the rest by 1/(1-p) in training mode; identity in eval mode. */
export const Dropout = defineOp<{ p: number }>({
  name: 'Dropout',
  inputs: [{ name: 'x', dtypes: ['float32'] }],
  impure: true,
  infer: ([x], { p }) => {
    if (!(p >= 0 && p < 1)) throw new ShapeError(`dropout probability must be in [0, 1), got ${p}`);
    return [x!];
  },
});

/** arange(start, end, step); `end` may be symbolic (then step must be 1). */
export const Range = defineOp<{ start: number; end: Dim; step: number; dtype: 'float32' | 'int32' }>({
  name: 'Range',
  inputs: [],
  infer: (_, { start, end, step, dtype }) => {
    if (step === 0) throw new ShapeError('range step cannot be zero');
    if (typeof end === 'number') return [{ dtype, shape: [Math.max(0, Math.ceil((end - start) / step))] }];
    if (step !== 1) throw new ShapeError(`a range to the symbolic end ${dimToString(end)} needs step 1, got ${step}`);
    return [{ dtype, shape: [subDims(end, start)] }];
  },
});

export const Constant = defineOp<{ value: HostTensor }>({
  name: 'Constant',
  inputs: [],
  infer: (_, { value }) => [{ dtype: value.dtype, shape: value.shape }],
});
