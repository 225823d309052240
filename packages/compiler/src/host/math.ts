import { type Conv2dAttrs, type HostTensor, hostTensor, type ReduceAttrs } from '@tessera/graph-dsl';
import { broadcastIndex, broadcastShape, normAxis } from './util.ts';

type In = readonly (HostTensor | null)[];

/** Batched matrix product; batch dims broadcast. Accumulates in double. */
export function MatMul([a, b]: In): HostTensor[] {
  const [m, k] = a!.shape.slice(-2) as [number, number];
  const [k2, n] = b!.shape.slice(-2) as [number, number];
  if (k !== k2) throw new Error(`MatMul: [${a!.shape.join(', ')}] x [${b!.shape.join(', ')}]`);
  const batch = broadcastShape([a!.shape.slice(0, -2), b!.shape.slice(0, -2)]);
  const ia = broadcastIndex(a!.shape.slice(0, -2), batch);
  const ib = broadcastIndex(b!.shape.slice(0, -2), batch);
  const out = hostTensor('float32', [...batch, m, n]);
  const [da, db, dc] = [a!.data, b!.data, out.data];
  for (let p = 0; p < ia.length; p++) {
    const oa = ia[p]! * m * k;
    const ob = ib[p]! * k * n;
    const oc = p * m * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let t = 0; t < k; t++) s += da[oa + i * k + t]! * db[ob + t * n + j]!;
        dc[oc + i * n + j] = s;
      }
    }
  }
  return [out];
}

/** F.linear: x @ weight^T + bias. */
export function Linear([x, w, b]: In): HostTensor[] {
  const wT = hostTensor('float32', [w!.shape[1]!, w!.shape[0]!]);
  const [o, i] = w!.shape as [number, number];
  for (let r = 0; r < o; r++) for (let c = 0; c < i; c++) wT.data[c * o + r] = w!.data[r * i + c]!;
  const [y] = MatMul([x, wT]);
  if (b) y!.data.forEach((t, k) => (y!.data[k] = t + b.data[k % o]!));
  return [y!];
}

/**
 * Views a tensor as [outer, axis, inner] around a set of axes: calls `f` once per kept position
 * with the flat indices of the reduced elements. Shared by the reductions, Softmax and LayerNorm.
 */
function forEachGroup(shape: readonly number[], axes: ReadonlySet<number>, f: (group: Int32Array, k: number) => void): number {
  const kept = shape.map((d, i) => (axes.has(i) ? 1 : d));
  const reducedShape = shape.map((d, i) => (axes.has(i) ? d : 1));
  // flat offset of each reduced element relative to the group's first element
  const rel = broadcastIndex(shape, reducedShape);
  // flat offset of each group's first element
  const base = broadcastIndex(shape, kept);
  const group = new Int32Array(rel.length);
  for (let k = 0; k < base.length; k++) {
    for (let r = 0; r < rel.length; r++) group[r] = base[k]! + rel[r]!;
    f(group, k);
  }
  return base.length;
}

function reduce(kind: 'sum' | 'mean' | 'max') {
  return ([x]: In, { axes, keepdims }: ReduceAttrs): HostTensor[] => {
    const rank = x!.shape.length;
    const set = new Set(axes.map((a) => normAxis(a, rank)));
    const shape = x!.shape.flatMap((d, i) => (set.has(i) ? (keepdims ? [1] : []) : [d]));
    const out = hostTensor(x!.dtype, shape);
    const src = x!.data as ArrayLike<number>;
    forEachGroup(x!.shape, set, (group, k) => {
      let acc = kind === 'max' ? -Infinity : 0;
      for (const g of group) acc = kind === 'max' ? (Number.isNaN(src[g]!) || src[g]! > acc ? src[g]! : acc) : acc + src[g]!;
      (out.data as unknown as number[])[k] = kind === 'mean' ? acc / group.length : acc;
    });
    return [out];
  };
}

export const ReduceSum = reduce('sum');
export const ReduceMean = reduce('mean');
export const ReduceMax = reduce('max');

/** Softmax along one axis, with the maximum subtracted first. */
export function Softmax([x]: In, { axis }: { axis: number }): HostTensor[] {
  const out = hostTensor('float32', x!.shape);
  const src = x!.data as Float32Array;
  const e = new Float64Array(x!.shape[normAxis(axis, x!.shape.length)]!);
  forEachGroup(x!.shape, new Set([normAxis(axis, x!.shape.length)]), (group) => {
    let max = -Infinity;
    for (const g of group) max = Math.max(max, src[g]!);
    let sum = 0;
    group.forEach((g, r) => (sum += e[r] = Math.exp(src[g]! - max)));
    group.forEach((g, r) => (out.data[g] = e[r]! / sum));
  });
  return [out];
}

/** LayerNorm over the axes from `axis` on (biased variance, as torch). */
export function LayerNorm([x, weight, bias]: In, { axis, eps }: { axis: number; eps: number }): HostTensor[] {
  const rank = x!.shape.length;
  const a = normAxis(axis, rank);
  const axes = new Set(x!.shape.map((_, i) => i).filter((i) => i >= a));
  const out = hostTensor('float32', x!.shape);
  const src = x!.data as Float32Array;
  forEachGroup(x!.shape, axes, (group) => {
    let mean = 0;
    for (const g of group) mean += src[g]!;
    mean /= group.length;
    let variance = 0;
    for (const g of group) variance += (src[g]! - mean) ** 2;
    variance /= group.length;
    const inv = 1 / Math.sqrt(variance + eps);
    group.forEach((g, r) => (out.data[g] = (src[g]! - mean) * inv * (weight ? weight.data[r]! : 1) + (bias ? bias.data[r]! : 0)));
  });
  return [out];
}

/** LayerNorm of x + residual, and the sum. */
export function AddLayerNorm([x, residual, weight, bias]: In, attrs: { axis: number; eps: number }): HostTensor[] {
  const sum = hostTensor('float32', x!.shape);
  sum.data.forEach((_, i) => (sum.data[i] = x!.data[i]! + residual!.data[i]!));
  return [LayerNorm([sum, weight ?? null, bias ?? null], attrs)[0]!, sum];
}

/** Direct convolution, NCHW, with groups, strides, dilations and padding. */
export function Conv2d([x, w, b]: In, { strides, pads, dilations, groups }: Conv2dAttrs): HostTensor[] {
  const [n, c, h, wd] = x!.shape as [number, number, number, number];
  const [o, cg, kh, kw] = w!.shape as [number, number, number, number];
  const oh = Math.floor((h + pads[0] + pads[2] - dilations[0] * (kh - 1) - 1) / strides[0]) + 1;
  const ow = Math.floor((wd + pads[1] + pads[3] - dilations[1] * (kw - 1) - 1) / strides[1]) + 1;
  const out = hostTensor('float32', [n, o, oh, ow]);
  const og = o / groups;
  const [dx, dw, dy] = [x!.data, w!.data, out.data];
  for (let bi = 0; bi < n; bi++)
    for (let oc = 0; oc < o; oc++) {
      const g = Math.floor(oc / og);
      for (let y = 0; y < oh; y++)
        for (let xo = 0; xo < ow; xo++) {
          let s = b ? b.data[oc]! : 0;
          for (let ic = 0; ic < cg; ic++)
            for (let i = 0; i < kh; i++) {
              const yi = y * strides[0] - pads[0] + i * dilations[0];
              if (yi < 0 || yi >= h) continue;
              for (let j = 0; j < kw; j++) {
                const xi = xo * strides[1] - pads[1] + j * dilations[1];
                if (xi < 0 || xi >= wd) continue;
                s += dx[((bi * c + g * cg + ic) * h + yi) * wd + xi]! * dw[((oc * cg + ic) * kh + i) * kw + j]!;
              }
            }
          dy[((bi * o + oc) * oh + y) * ow + xo] = s;
        }
    }
  return [out];
}
