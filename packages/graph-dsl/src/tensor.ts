import type { DType } from './dtype.ts';
import { hostTensor } from './dtype.ts';
import { type Dim, type DimLike, dimsEqual, divDims, dimToString, shapeToString, toDim } from './dim.ts';
import type { GraphBuilder } from './builder.ts';
import { type Init, typeToString } from './ir.ts';
import { type AttrsOf, broadcastShapes, numElements, type OpName, ShapeError, swapAxes } from './ops/index.ts';

type Tuple<T, N extends number, A extends T[] = []> = number extends N ? readonly T[] : A['length'] extends N ? readonly [...A] : Tuple<T, N, [...A, T]>;
/** A shape whose length is the tensor's rank, so that `tsc` catches rank mistakes. */
export type Shape<R extends number> = readonly Dim[] & Tuple<Dim, R>;
type Dec<R extends number> = number extends R ? number : [never, 0, 1, 2, 3, 4, 5, 6, 7][R];
type Inc<R extends number> = number extends R ? number : [1, 2, 3, 4, 5, 6, 7, 8][R];
/** The rank of a broadcast result: the larger of the two when known. */
type Broadcast<A extends number, B extends number> = number extends A | B ? number : Tuple<0, A> extends readonly [...Tuple<0, B>, ...unknown[]] ? A : B;

export type Operand<D extends DType = DType> = Tensor<D, number> | number;
/** Makes a float-only method take an impossible extra argument on other dtypes, so `tsc` rejects the call. */
type FloatOnly<D extends DType> = D extends 'float32' ? [] : [needsFloat32: never];
type BoolOnly<D extends DType> = D extends 'bool' ? [] : [needsBool: never];

/**
 * A symbolic tensor in a graph being traced: dtype and rank are part of its type. Its methods
 * keep PyTorch's names and conventions (reshape, transpose(a, b), permute, sum(dim, keepdim)).
 */
export class Tensor<D extends DType = DType, R extends number = number> {
  readonly #graph: GraphBuilder | undefined;
  readonly #id: number;
  constructor(
    readonly dtype: D,
    readonly shape: Shape<R>,
    graph?: GraphBuilder,
    id = -1,
  ) {
    this.#graph = graph;
    this.#id = id;
  }

  /** The graph and value this tensor stands for (a parameter has one only while its model is traced). */
  ref(): { graph: GraphBuilder; id: number } {
    if (!this.#graph) throw new Error('this tensor belongs to no graph');
    return { graph: this.#graph, id: this.#id };
  }

  get rank(): R {
    return this.shape.length as R;
  }

  /** Size of one dim (negative counts from the end), PyTorch's `x.size(d)`. */
  size(dim: number): Dim {
    const d = this.shape[dim < 0 ? dim + this.shape.length : dim];
    if (d === undefined) throw new Error(`size(${dim}): tensor has rank ${this.shape.length}`);
    return d;
  }

  toString(): string {
    return `Tensor<${this.dtype}>[${this.shape.map(dimToString).join(', ')}]`;
  }

  // --- elementwise ---
  add<R2 extends number = 0>(o: Tensor<D, R2> | number) { return binary<Tensor<D, Broadcast<R, R2>>>(this, 'Add', o); }
  sub<R2 extends number = 0>(o: Tensor<D, R2> | number) { return binary<Tensor<D, Broadcast<R, R2>>>(this, 'Sub', o); }
  mul<R2 extends number = 0>(o: Tensor<D, R2> | number) { return binary<Tensor<D, Broadcast<R, R2>>>(this, 'Mul', o); }
  div<R2 extends number = 0>(o: Tensor<D, R2> | number) { return binary<Tensor<D, Broadcast<R, R2>>>(this, 'Div', o); }
  pow<R2 extends number = 0>(o: Tensor<'float32', R2> | number, ..._: FloatOnly<D>) { return binary<Tensor<'float32', Broadcast<R, R2>>>(this, 'Pow', o); }
  maximum<R2 extends number = 0>(o: Tensor<D, R2> | number) { return binary<Tensor<D, Broadcast<R, R2>>>(this, 'Maximum', o); }
  minimum<R2 extends number = 0>(o: Tensor<D, R2> | number) { return binary<Tensor<D, Broadcast<R, R2>>>(this, 'Minimum', o); }
  eq<R2 extends number = 0>(o: Tensor<D, R2> | number) { return binary<Tensor<'bool', Broadcast<R, R2>>>(this, 'Equal', o); }
  ne<R2 extends number = 0>(o: Tensor<D, R2> | number) { return this.eq(o).logicalNot(); }
  lt<R2 extends number = 0>(o: Tensor<D, R2> | number) { return binary<Tensor<'bool', Broadcast<R, R2>>>(this, 'Less', o); }
  le<R2 extends number = 0>(o: Tensor<D, R2> | number) { return binary<Tensor<'bool', Broadcast<R, R2>>>(this, 'LessEqual', o); }
  gt<R2 extends number = 0>(o: Tensor<D, R2> | number) { return binary<Tensor<'bool', Broadcast<R, R2>>>(this, 'Greater', o); }
  ge<R2 extends number = 0>(o: Tensor<D, R2> | number) { return binary<Tensor<'bool', Broadcast<R, R2>>>(this, 'GreaterEqual', o); }
  logicalAnd<R2 extends number>(o: Tensor<'bool', R2>, ..._: BoolOnly<D>) { return binary<Tensor<'bool', Broadcast<R, R2>>>(this, 'And', o); }
  logicalOr<R2 extends number>(o: Tensor<'bool', R2>, ..._: BoolOnly<D>) { return binary<Tensor<'bool', Broadcast<R, R2>>>(this, 'Or', o); }
  logicalNot(..._: BoolOnly<D>) { return unary(this, 'Not'); }
  neg() { return unary(this, 'Neg'); }
  abs() { return unary(this, 'Abs'); }
  exp(..._: FloatOnly<D>) { return unary(this, 'Exp'); }
  log(..._: FloatOnly<D>) { return unary(this, 'Log'); }
  sqrt(..._: FloatOnly<D>) { return unary(this, 'Sqrt'); }
  tanh(..._: FloatOnly<D>) { return unary(this, 'Tanh'); }
  erf(..._: FloatOnly<D>) { return unary(this, 'Erf'); }
  relu(..._: FloatOnly<D>) { return unary(this, 'Relu'); }
  sigmoid(..._: FloatOnly<D>) { return unary(this, 'Sigmoid'); }
  sin(..._: FloatOnly<D>) { return unary(this, 'Sin'); }
  cos(..._: FloatOnly<D>) { return unary(this, 'Cos'); }
  /** PyTorch's `x.to(dtype)`. */
  to<D2 extends DType>(dtype: D2): Tensor<D2, R> {
    return dtype === (this.dtype as DType) ? (this as unknown as Tensor<D2, R>) : (apply<'Cast', Tensor<D2, R>>(this, 'Cast', [this], { to: dtype }));
  }

  // --- linear algebra ---
  matmul<R2 extends number>(o: Tensor<'float32', R2>, ..._: FloatOnly<D>) { return apply<'MatMul', Tensor<'float32', Broadcast<R, R2>>>(this, 'MatMul', [this, o], {}); }

  // --- shape ---
  /** `reshape([B, -1, 4])`: one -1 takes what is left. Dims may be symbolic ('B', 'H/2'). */
  reshape<const S extends readonly (DimLike | -1)[]>(shape: S): Tensor<D, S['length']> {
    return apply<'Reshape', Tensor<D, S['length']>>(this, 'Reshape', [this], { shape: resolveReshape(this, shape) });
  }
  /** PyTorch's `transpose(dim0, dim1)`: swaps two axes. */
  transpose(dim0: number, dim1: number): Tensor<D, R> {
    return this.permute(...swapAxes(this.rank, axis('transpose', this, dim0), axis('transpose', this, dim1)));
  }
  permute(...perm: number[]): Tensor<D, R> {
    return apply<'Transpose', Tensor<D, R>>(this, 'Transpose', [this], { perm: perm.map((p) => axis('permute', this, p)) });
  }
  /** The last two axes swapped (PyTorch's `x.mT`). */
  get mT(): Tensor<D, R> {
    return this.transpose(-2, -1);
  }
  unsqueeze(dim: number): Tensor<D, Inc<R>> {
    const d = dim < 0 ? dim + this.rank + 1 : dim;
    return this.reshape([...this.shape.slice(0, d), 1, ...this.shape.slice(d)]) as unknown as Tensor<D, Inc<R>>;
  }
  squeeze(dim: number): Tensor<D, Dec<R>> {
    const d = axis('squeeze', this, dim);
    if (this.shape[d] !== 1) throw new Error(`squeeze(${dim}): dim ${dim} of ${this} is not 1`);
    return this.reshape(this.shape.filter((_, i) => i !== d)) as unknown as Tensor<D, Dec<R>>;
  }
  flatten(startDim = 0, endDim = -1): Tensor<D, number> {
    const [s, e] = [axis('flatten', this, startDim), axis('flatten', this, endDim)];
    return this.reshape([...this.shape.slice(0, s), numElements(this.shape.slice(s, e + 1)), ...this.shape.slice(e + 1)]);
  }
  /** `x[..., start:end:step, ...]` on one axis. */
  slice(dim: number, start: number, end?: number, step = 1): Tensor<D, R> {
    return apply<'Slice', Tensor<D, R>>(this, 'Slice', [this], { axis: axis('slice', this, dim), start, ...(end === undefined ? {} : { end }), step });
  }
  /**
   * PyTorch's `x.select(dim, index)`: one index of a dim, which goes away (`x[:, 2]`). Typed rank
   * `number`: a second method typed Dec<R> besides squeeze makes tsc's comparison of tensor types too deep.
   */
  select(dim: number, index: number): Tensor<D, number> {
    const d = axis('select', this, dim);
    const n = this.shape[d]!;
    const outOfRange = typeof n === 'number' && (index < -n || index >= n);
    if (!Number.isInteger(index) || outOfRange) refuse('select', `index ${index} is out of range for dim ${dim} of size ${dimToString(n)}`, { self: this });
    return this.narrow(d, index, 1).squeeze(d) as Tensor<D, number>;
  }
  /** PyTorch's `x.narrow(dim, start, length)`: `length` entries from `start` (negative counts from the end). */
  narrow(dim: number, start: number, length: number): Tensor<D, R> {
    const d = axis('narrow', this, dim);
    const n = this.shape[d]!;
    if (!Number.isInteger(start) || !Number.isInteger(length) || length < 0) refuse('narrow', `start ${start} and length ${length} must be whole numbers, length >= 0`, { self: this });
    if (typeof n === 'number') {
      const s = start < 0 ? start + n : start;
      if (s < 0 || s + length > n) refuse('narrow', `start ${start} + length ${length} is outside dim ${dim} of size ${n}`, { self: this });
      return this.slice(d, s, s + length);
    }
    // on a symbolic size a negative start stays relative to the end
    return this.slice(d, start, start < 0 && start + length === 0 ? undefined : start + length);
  }
  /** PyTorch's `x.split(size, dim)`: pieces of `size` along dim (the last may be shorter), or of each size in a list that sums to the dim. */
  split(splitSize: number | readonly number[], dim = 0): Tensor<D, R>[] {
    const [d, n] = concreteDim('split', this, dim);
    const sizes = typeof splitSize === 'number' ? pieceSizes('split', this, n, splitSize) : splitSize;
    if (sizes.some((s) => !Number.isInteger(s) || s < 0) || sizes.reduce((a, b) => a + b, 0) !== n) {
      refuse('split', `split sizes [${sizes.join(', ')}] must be whole numbers >= 0 that sum to ${n}, the size of dim ${dim}`, { self: this });
    }
    let start = 0;
    return sizes.map((s) => this.slice(d, start, (start += s)));
  }
  /** PyTorch's `x.chunk(chunks, dim)`: at most `chunks` pieces of ceil(size / chunks). */
  chunk(chunks: number, dim = 0): Tensor<D, R>[] {
    const [d, n] = concreteDim('chunk', this, dim);
    if (!Number.isInteger(chunks) || chunks <= 0) refuse('chunk', `chunks must be a whole number above 0, got ${chunks}`, { self: this });
    return this.split(pieceSizes('chunk', this, n, Math.ceil(n / chunks)), d);
  }
  /** PyTorch's `x.unbind(dim)`: every index of a dim, each without it. */
  unbind(dim = 0): Tensor<D, number>[] {
    const [d, n] = concreteDim('unbind', this, dim);
    return Array.from({ length: n }, (_, i) => this.select(d, i));
  }
  /** PyTorch's `x.masked_fill(mask, value)`: `value` where mask is true; the mask broadcasts to x's shape. */
  maskedFill(mask: Tensor<'bool'>, value: number | Tensor<D>): Tensor<D, R> {
    const operands = { self: this, mask };
    if (mask.dtype !== 'bool') refuse('maskedFill', `mask must be bool, got ${mask.dtype as string}`, operands);
    let shape: readonly Dim[] = [];
    try {
      shape = broadcastShapes([this.shape, mask.shape]);
    } catch (e) {
      if (e instanceof ShapeError) refuse('maskedFill', e.message, operands);
      throw e;
    }
    if (shape.length !== this.rank || shape.some((s, i) => !dimsEqual(s, this.shape[i]!))) refuse('maskedFill', `mask ${shapeToString(mask.shape)} must broadcast to the shape of self ${shapeToString(this.shape)}`, operands);
    if (typeof value !== 'number' && value.rank !== 0) refuse('maskedFill', `a tensor value must have 0 dims, got ${shapeToString(value.shape)}`, { ...operands, value });
    if (typeof value === 'number' && this.dtype === 'int32' && !Number.isInteger(value)) refuse('maskedFill', `an int32 tensor cannot be filled with ${value}`, operands);
    const fill: Traced = typeof value === 'number' ? constant(this, value, this.dtype) : value;
    return apply<'Where', Tensor<D, R>>(this, 'Where', [mask, fill, this], {});
  }
  /** PyTorch's `x.view(2, -1)` (also `x.view([2, -1])`): a traced graph has no strides, so a view is a reshape. */
  view<const S extends readonly (DimLike | -1)[]>(...shape: S): Tensor<D, S['length']>;
  view<const S extends readonly (DimLike | -1)[]>(shape: S): Tensor<D, S['length']>;
  view(...args: readonly (DimLike | -1)[] | [readonly (DimLike | -1)[]]): Tensor<D, number> {
    const shape = Array.isArray(args[0]) ? (args[0] as readonly (DimLike | -1)[]) : (args as readonly (DimLike | -1)[]);
    return this.reshape(shape);
  }
  /** `x.index_select(dim, index)`, and with a multi-dim index the numpy-style gather. */
  gather<RI extends number>(dim: number, index: Tensor<'int32', RI>): Tensor<D, number> {
    return apply<'Gather', Tensor<D, number>>(this, 'Gather', [this, index], { axis: axis('gather', this, dim) });
  }
  roll(shifts: number | readonly number[], dims: number | readonly number[]): Tensor<D, R> {
    const s = typeof shifts === 'number' ? [shifts] : shifts;
    const a = typeof dims === 'number' ? [dims] : dims;
    return apply<'Roll', Tensor<D, R>>(this, 'Roll', [this], { shifts: s, axes: a.map((d) => axis('roll', this, d)) });
  }
  /** PyTorch's expand: -1 keeps a dim, size-1 dims stretch, new leading dims may be added. */
  expand<const S extends readonly (DimLike | -1)[]>(shape: S): Tensor<D, S['length']> {
    const offset = shape.length - this.rank;
    const dims = shape.map((d, i) => (d === -1 ? this.shape[i - offset]! : toDim(d)));
    return apply<'Expand', Tensor<D, S['length']>>(this, 'Expand', [this], { shape: dims });
  }
  /** `x.repeat_interleave(repeats, dim)` for a fixed count. */
  repeatInterleave(repeats: number, dim: number): Tensor<D, R> {
    const d = axis('repeatInterleave', this, dim);
    const expanded = this.unsqueeze(d + 1) as unknown as Tensor<D, number>;
    const target = [...this.shape.slice(0, d + 1), repeats, ...this.shape.slice(d + 1)];
    return expanded.expand(target).flatten(d, d + 1) as unknown as Tensor<D, R>;
  }

  // --- reductions ---
  sum<K extends boolean = false>(dim: number | readonly number[], keepdim?: K) { return reduce(this, 'ReduceSum', dim, keepdim); }
  mean<K extends boolean = false>(dim: number | readonly number[], keepdim?: K) { return reduce(this, 'ReduceMean', dim, keepdim); }
  amax<K extends boolean = false>(dim: number | readonly number[], keepdim?: K) { return reduce(this, 'ReduceMax', dim, keepdim); }
  softmax(dim: number, ..._: FloatOnly<D>): Tensor<'float32', R> {
    return apply<'Softmax', Tensor<'float32', R>>(this, 'Softmax', [this], { axis: axis('softmax', this, dim) });
  }
}

/**
 * A learnable tensor of a module. Its dotted name comes from where it sits in the module tree;
 * while the model is traced it stands for that parameter's value in the graph.
 */
export class Parameter<R extends number = number> extends Tensor<'float32', R> {
  #bound: { graph: GraphBuilder; id: number } | undefined;
  constructor(
    shape: Tuple<DimLike, R>,
    readonly init: Init,
  ) {
    super('float32', (shape as readonly DimLike[]).map(toDim) as Shape<R>);
  }
  override ref(): { graph: GraphBuilder; id: number } {
    if (!this.#bound) throw new Error(`parameter ${this} is used outside a trace of its model`);
    return this.#bound;
  }
  /** @internal used by `trace` while the forward runs. */
  bindTo(binding: { graph: GraphBuilder; id: number } | undefined): void {
    this.#bound = binding;
  }
}

/**
 * A method's refusal of its arguments, reported as the ops report theirs (OpError): the method,
 * the operands' types, what was expected and the user's line.
 */
export function refuse(method: string, reason: string, operands: Readonly<Record<string, Tensor>>): never {
  const listed = Object.entries(operands).map(([name, t]) => `${name}: ${typeToString(t)}`).join(', ');
  throw Object.values(operands)[0]!.ref().graph.opError(method, reason, listed);
}

/** `dim` of `x` as a non-negative axis (negative counts from the end); out of range, the method's refusal at the user's line. */
export function axis(method: string, x: Tensor, dim: number): number {
  const a = dim < 0 ? dim + x.rank : dim;
  if (!Number.isInteger(dim) || a < 0 || a >= x.rank) refuse(method, `dim ${dim} is out of range for rank ${x.rank} (expected ${-x.rank} to ${x.rank - 1})`, { self: x });
  return a;
}

/** The axis and its size, which must be a number: how many pieces come out decides the program. */
function concreteDim(method: string, x: Tensor, dim: number): [number, number] {
  const a = axis(method, x, dim);
  const n = x.shape[a]!;
  if (typeof n !== 'number') refuse(method, `dim ${dim} has the symbolic size ${dimToString(n)}; the number of pieces needs a concrete size`, { self: x });
  return [a, n];
}

/** torch's split(int): pieces of `size`, the last shorter; a size of 0 only for an empty dim (one empty piece). */
function pieceSizes(method: string, x: Tensor, n: number, size: number): number[] {
  if (!Number.isInteger(size) || size < 0 || (size === 0 && n !== 0)) refuse(method, `split size must be a whole number above 0, got ${size}`, { self: x });
  if (size === 0) return [0];
  return Array.from({ length: Math.ceil(n / size) }, (_, k) => Math.min(size, n - k * size));
}

/** What ops need of an operand: the graph value it stands for. Structural, so any Tensor<D, R> is one. */
export interface Traced {
  ref(): { graph: GraphBuilder; id: number };
}

/** Records one op whose operands are tensors of one graph; returns its first output, typed by the caller. */
export function apply<N extends OpName, T = Tensor<DType, number>>(anchor: Traced, op: N, operands: readonly (Traced | null)[], attrs: AttrsOf<N>): T {
  return applyMany(anchor.ref().graph, op, operands, attrs)[0] as T;
}

export function applyMany<N extends OpName>(graph: GraphBuilder, op: N, operands: readonly (Traced | null)[], attrs: AttrsOf<N>): Tensor<DType, number>[] {
  const ids = operands.map((t) => {
    if (t === null) return null;
    const r = t.ref();
    if (r.graph !== graph) throw new Error(`${op}: operands come from different graphs`);
    return r.id;
  });
  return graph.apply(op, ids, attrs).map((id) => {
    const type = graph.typeOf(id);
    return new Tensor(type.dtype, type.shape as Shape<number>, graph, id);
  });
}

/** A literal as a constant in `anchor`'s graph (dtype of the anchor unless given). */
export function constant<D extends DType>(anchor: Traced, value: number | readonly number[], dtype: D, shape?: readonly number[]): Tensor<D, number> {
  const data = typeof value === 'number' ? [value] : value;
  const s = shape ?? (typeof value === 'number' ? [] : [data.length]);
  return apply<'Constant', Tensor<D, number>>(anchor, 'Constant', [], { value: hostTensor(dtype, s, data) });
}

function binary<T>(a: Traced & { dtype: DType }, op: OpName, b: Traced | number): T {
  const other = typeof b === 'number' ? constant(a, b, a.dtype) : b;
  return apply<OpName, T>(a, op, [a, other], {} as never);
}

function unary<D extends DType, R extends number>(x: Tensor<D, R>, op: OpName): Tensor<D, R> {
  return apply<OpName, Tensor<D, R>>(x, op, [x], {} as never);
}

/** The method each reduction is called by, for its errors. */
const REDUCE_METHODS = { ReduceSum: 'sum', ReduceMean: 'mean', ReduceMax: 'amax' } as const;

function reduce<D extends DType, R extends number, K extends boolean>(x: Tensor<D, R>, op: 'ReduceSum' | 'ReduceMean' | 'ReduceMax', dim: number | readonly number[], keepdim?: K) {
  const axes = (typeof dim === 'number' ? [dim] : dim).map((d) => axis(REDUCE_METHODS[op], x, d));
  return apply<typeof op, Tensor<D, K extends true ? R : number>>(x, op, [x], { axes, keepdims: keepdim ?? false });
}

function resolveReshape(x: Tensor, shape: readonly (DimLike | -1)[]): Dim[] {
  const dims = shape.map((d) => (d === -1 ? -1 : toDim(d)));
  const free = dims.filter((d) => d === -1).length;
  if (free > 1) throw new Error(`reshape ${x} to [${shape.join(', ')}]: only one dim may be -1`);
  if (free === 0) return dims as Dim[];
  const known = numElements(dims.filter((d) => d !== -1) as Dim[]);
  const rest = divDims(numElements(x.shape), known);
  if (typeof rest === 'number' && !Number.isInteger(rest)) {
    throw new Error(`reshape ${x} to [${shape.join(', ')}]: ${dimToString(numElements(x.shape))} elements do not divide into ${dimToString(known)}`);
  }
  return dims.map((d) => (d === -1 ? rest : d)) as Dim[];
}
