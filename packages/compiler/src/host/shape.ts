import { type Dim, type HostTensor, hostTensor, type PadAttrs, sizeOf, sliceRange, type SliceAttrs } from '@tessera/graph-dsl';
import { broadcastIndex, concrete, normAxis, strides, take } from './util.ts';

type In = readonly (HostTensor | null)[];

/** Flat indices of a tensor of `shape` seen through an output of `outShape` whose multi-index maps by `source`. */
function gatherBy(shape: readonly number[], outShape: readonly number[], source: (out: number[], inIndex: number[]) => void): Int32Array {
  const size = sizeOf(outShape);
  const index = new Int32Array(size);
  const inStrides = strides(shape);
  const counter = new Array<number>(outShape.length).fill(0);
  const inIndex = new Array<number>(shape.length).fill(0);
  for (let k = 0; k < size; k++) {
    source(counter, inIndex);
    let flat = 0;
    for (let a = 0; a < shape.length; a++) flat += inIndex[a]! * inStrides[a]!;
    index[k] = flat;
    for (let a = outShape.length - 1; a >= 0; a--) {
      if (++counter[a]! < outShape[a]!) break;
      counter[a] = 0;
    }
  }
  return index;
}

export function Reshape([x]: In, { shape }: { shape: readonly Dim[] }): HostTensor[] {
  const dims = shape.map((d) => concrete(d, 'Reshape'));
  if (sizeOf(dims) !== x!.data.length) throw new Error(`Reshape: cannot reshape [${x!.shape.join(', ')}] to [${dims.join(', ')}]`);
  return [{ dtype: x!.dtype, shape: dims, data: x!.data.slice() } as HostTensor];
}

export function Transpose([x]: In, { perm }: { perm: readonly number[] }): HostTensor[] {
  const shape = perm.map((p) => x!.shape[p]!);
  return [take(x!, shape, gatherBy(x!.shape, shape, (out, inIdx) => perm.forEach((p, i) => (inIdx[p] = out[i]!))))];
}

export function Concat(inputs: In, { axis }: { axis: number }): HostTensor[] {
  const xs = inputs as readonly HostTensor[];
  const a = normAxis(axis, xs[0]!.shape.length);
  const shape = [...xs[0]!.shape];
  shape[a] = xs.reduce((s, x) => s + x.shape[a]!, 0);
  const out = hostTensor(xs[0]!.dtype, shape);
  const outer = sizeOf(shape.slice(0, a));
  const inner = sizeOf(shape.slice(a + 1));
  const dst = out.data as unknown as { set(src: ArrayLike<number>, at: number): void };
  let at = 0;
  for (let o = 0; o < outer; o++) {
    for (const x of xs) {
      const n = x.shape[a]! * inner;
      dst.set((x.data as Float32Array).subarray(o * n, (o + 1) * n), at);
      at += n;
    }
  }
  return [out];
}

export function Slice([x]: In, attrs: SliceAttrs): HostTensor[] {
  const a = normAxis(attrs.axis, x!.shape.length);
  const { begin, length } = sliceRange(x!.shape[a]!, attrs);
  const shape = x!.shape.map((d, i) => (i === a ? length : d));
  return [take(x!, shape, gatherBy(x!.shape, shape, (out, inIdx) => out.forEach((v, i) => (inIdx[i] = i === a ? begin + v * attrs.step : v))))];
}

/** NumPy's take along an axis; negative indices count from the end. */
export function Gather([x, indices]: In, { axis }: { axis: number }): HostTensor[] {
  const a = normAxis(axis, x!.shape.length);
  const n = x!.shape[a]!;
  const ir = indices!.shape.length;
  const shape = [...x!.shape.slice(0, a), ...indices!.shape, ...x!.shape.slice(a + 1)];
  const idxStrides = strides(indices!.shape);
  const idx = indices!.data as Int32Array;
  return [
    take(x!, shape, gatherBy(x!.shape, shape, (out, inIdx) => {
      let flat = 0;
      for (let j = 0; j < ir; j++) flat += out[a + j]! * idxStrides[j]!;
      let i = idx[flat]!;
      if (i < 0) i += n;
      if (i < 0 || i >= n) throw new Error(`Gather: index ${idx[flat]} is out of range for axis ${axis} of size ${n}`);
      for (let j = 0; j < a; j++) inIdx[j] = out[j]!;
      inIdx[a] = i;
      for (let j = a + 1; j < x!.shape.length; j++) inIdx[j] = out[j + ir - 1]!;
    })),
  ];
}

/** torch.roll: out[i] = x[(i - shift) mod n] on each rolled axis. */
export function Roll([x]: In, { shifts, axes }: { shifts: readonly number[]; axes: readonly number[] }): HostTensor[] {
  const rank = x!.shape.length;
  const shiftOf = new Array<number>(rank).fill(0);
  axes.forEach((ax, k) => (shiftOf[normAxis(ax, rank)]! += shifts[k]!));
  return [
    take(x!, x!.shape, gatherBy(x!.shape, x!.shape, (out, inIdx) => {
      for (let i = 0; i < rank; i++) {
        const n = x!.shape[i]!;
        inIdx[i] = (((out[i]! - shiftOf[i]!) % n) + n) % n;
      }
    })),
  ];
}

export function Expand([x]: In, { shape }: { shape: readonly Dim[] }): HostTensor[] {
  const dims = shape.map((d) => concrete(d, 'Expand'));
  return [take(x!, dims, broadcastIndex(x!.shape, dims))];
}

export function Range(_: In, { start, end, step, dtype }: { start: number; end: Dim; step: number; dtype: 'float32' | 'int32' }): HostTensor[] {
  const e = concrete(end, 'Range');
  const n = Math.max(0, Math.ceil((e - start) / step));
  const out = hostTensor(dtype, [n]);
  for (let i = 0; i < n; i++) out.data[i] = start + i * step;
  return [out];
}

export function Constant(_: In, { value }: { value: HostTensor }): HostTensor[] {
  return [value];
}

/** Constant padding: the output starts as `value`, and x is copied in at the offsets of the `before` counts. */
export function Pad([x]: In, { pads, value }: PadAttrs): HostTensor[] {
  const shape = x!.shape.map((d, i) => d + pads[i]![0] + pads[i]![1]);
  const out = hostTensor(x!.dtype, shape);
  out.data.fill(value);
  const outStrides = strides(shape);
  const counter = new Array<number>(x!.shape.length).fill(0);
  for (let k = 0; k < x!.data.length; k++) {
    out.data[counter.reduce((s, v, a) => s + (v + pads[a]![0]) * outStrides[a]!, 0)] = x!.data[k]!;
    for (let a = counter.length - 1; a >= 0; a--) {
      if (++counter[a]! < x!.shape[a]!) break;
      counter[a] = 0;
    }
  }
  return [out];
}
