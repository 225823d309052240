/** Element types a tensor can have. `int32` stands in for PyTorch's int64 indices; `bool` is stored one byte per element. */
export type DType = 'float32' | 'int32' | 'bool';

export type TypedArrayFor<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'int32'
    ? Int32Array
    : Uint8Array;

/** A tensor's data on the host: what weights, inputs, outputs and folded constants are. */
export interface HostTensor<D extends DType = DType> {
  readonly dtype: D;
  readonly shape: readonly number[];
  readonly data: TypedArrayFor<D>;
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function allocate<D extends DType>(dtype: D, size: number): TypedArrayFor<D> {
  const array = dtype === 'float32' ? new Float32Array(size) : dtype === 'int32' ? new Int32Array(size) : new Uint8Array(size);
  return array as TypedArrayFor<D>;
}

export function hostTensor<D extends DType>(dtype: D, shape: readonly number[], data?: ArrayLike<number>): HostTensor<D> {
  const size = sizeOf(shape);
  const array = allocate(dtype, size);
  if (data !== undefined) {
    if (data.length !== size) {
      throw new Error(`hostTensor: shape [${shape.join(', ')}] holds ${size} elements, but ${data.length} values were given`);
    }
    array.set(data);
  }
  return { dtype, shape: [...shape], data: array };
}

/** The largest elementwise difference of two tensors: Infinity when their shapes differ or a value is NaN in one only. */
export function maxAbsDiff(a: HostTensor, b: HostTensor): number {
  if (a.shape.join() !== b.shape.join()) return Infinity;
  let worst = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(a.data[i]! - b.data[i]!);
    if (Number.isNaN(d) && !(Number.isNaN(a.data[i]!) && Number.isNaN(b.data[i]!))) return Infinity;
    if (d > worst) worst = d;
  }
  return worst;
}
