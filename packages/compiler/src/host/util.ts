import { type Dim, dimToString, type DType, type HostTensor, hostTensor, sizeOf, type TypedArrayFor } from '@tessera/graph-dsl';

/** Row-major strides of a shape. */
export function strides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= shape[i]!;
  }
  return out;
}

/** NumPy broadcasting of concrete shapes. */
export function broadcastShape(shapes: readonly (readonly number[])[]): number[] {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let dim = 1;
    for (const s of shapes) {
      const d = s[s.length - rank + i] ?? 1;
      if (d === 1) continue;
      if (dim !== 1 && dim !== d) throw new Error(`shapes ${shapes.map((x) => `[${x.join(', ')}]`).join(' and ')} do not broadcast`);
      dim = d;
    }
    out.push(dim);
  }
  return out;
}

/**
 * For each element of `outShape` (row-major), the flat index of the element of a tensor of
 * `inShape` that broadcasting reads. The one broadcasting helper every host kernel uses.
 */
export function broadcastIndex(inShape: readonly number[], outShape: readonly number[]): Int32Array {
  const size = sizeOf(outShape);
  const index = new Int32Array(size);
  const rank = outShape.length;
  const offset = rank - inShape.length;
  const inStrides = strides(inShape);
  // stride of each output axis in the input: 0 where the input broadcasts
  const step = outShape.map((_, i) => (i < offset || inShape[i - offset] === 1 ? 0 : inStrides[i - offset]!));
  const counter = new Array<number>(rank).fill(0);
  let at = 0;
  for (let k = 0; k < size; k++) {
    index[k] = at;
    for (let a = rank - 1; a >= 0; a--) {
      counter[a]!++;
      at += step[a]!;
      if (counter[a]! < outShape[a]!) break;
      at -= step[a]! * counter[a]!;
      counter[a] = 0;
    }
  }
  return index;
}

/** The number a dim attribute must be when a kernel runs. */
export function concrete(d: Dim, what: string): number {
  if (typeof d !== 'number') throw new Error(`${what}: dimension ${dimToString(d)} is symbolic; bind it before evaluating on the host`);
  return d;
}

export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

export function empty<D extends DType>(dtype: D, shape: readonly number[]): HostTensor<D> {
  return hostTensor(dtype, shape);
}

export function dataOf<D extends DType>(t: HostTensor<D>): TypedArrayFor<D> {
  return t.data;
}

/** A gather of elements by flat index: the data-movement ops compute indices and share this. */
export function take<D extends DType>(x: HostTensor<D>, shape: readonly number[], index: ArrayLike<number>): HostTensor<D> {
  const out = hostTensor(x.dtype, shape);
  const src = x.data as ArrayLike<number>;
  const dst = out.data as unknown as { [i: number]: number };
  for (let i = 0; i < index.length; i++) dst[i] = src[index[i]!]!;
  return out;
}
