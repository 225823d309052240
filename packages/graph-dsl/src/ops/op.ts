import type { DType } from '../dtype.ts';
import { type Dim, dimsEqual, mulDims, shapeToString } from '../dim.ts';

/** What shape inference knows of a value: its dtype and its (possibly symbolic) shape. */
export interface TensorType {
  readonly dtype: DType;
  readonly shape: readonly Dim[];
}

/** A shape rule's refusal: says what was expected. The caller adds the op, the operands and the source line. */
export class ShapeError extends Error {}

export interface InputSpec {
  readonly name: string;
  readonly dtypes?: readonly DType[];
  readonly optional?: boolean;
}

/**
 * One operator, defined once: its inputs, its attributes' type (A) and its shape rule. The DSL,
 * shape inference, the tfjs lowering and the ONNX exporter all look it up by name.
 */
export interface OpDef<A extends object = object> {
  readonly name: string;
  readonly inputs: readonly InputSpec[];
  /** A repeated last input (Concat takes any number of tensors). */
  readonly variadic?: boolean;
  /** Output types from input types; throws ShapeError with what was expected. */
  readonly infer: (inputs: readonly (TensorType | undefined)[], attrs: A) => TensorType[];
  /** Ops that draw random numbers or exist only for training are never folded or merged. */
  readonly impure?: boolean;
}

export function defineOp<A extends object>(def: OpDef<A>): OpDef<A> {
  return def;
}

export function normalizeAxis(axis: number, rank: number, what = 'axis'): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new ShapeError(`${what} ${axis} is out of range for rank ${rank} (expected ${-rank} to ${rank - 1})`);
  return a;
}

export function expectRank(t: TensorType, name: string, ranks: readonly number[]): void {
  if (!ranks.includes(t.shape.length)) {
    throw new ShapeError(`${name} must have rank ${ranks.join(' or ')}, got rank ${t.shape.length} ${shapeToString(t.shape)}`);
  }
}

export function expectDim(actual: Dim, expected: Dim, what: string): void {
  if (!dimsEqual(actual, expected)) throw new ShapeError(`${what}: expected ${String(expected)}, got ${String(actual)}`);
}

/** NumPy broadcasting of any number of shapes; a 1 stretches, symbols must match exactly. */
export function broadcastShapes(shapes: readonly (readonly Dim[])[]): Dim[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    let dim: Dim = 1;
    for (const s of shapes) {
      const d = s[s.length - rank + i];
      if (d === undefined || d === 1) continue;
      if (dim === 1) dim = d;
      else if (!dimsEqual(dim, d)) {
        throw new ShapeError(`shapes ${shapes.map(shapeToString).join(' and ')} do not broadcast: dimension ${i - rank} is ${String(dim)} in one and ${String(d)} in another`);
      }
    }
    out.push(dim);
  }
  return out;
}

export function numElements(shape: readonly Dim[]): Dim {
  return shape.reduce<Dim>((a, b) => mulDims(a, b), 1);
}

/** Python slice semantics on one axis: x[start:end:step]; `end` undefined means to the end. */
export interface SliceAttrs {
  readonly axis: number;
  readonly start: number;
  readonly end?: number;
  readonly step: number;
}

/** The concrete start and length of a slice on a dim of size n (Python's slice.indices). */
export function sliceRange(n: number, { start, end, step }: SliceAttrs): { begin: number; length: number } {
  const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
  if (step > 0) {
    const b = clamp(start < 0 ? start + n : start, 0, n);
    const e = end === undefined ? n : clamp(end < 0 ? end + n : end, 0, n);
    return { begin: b, length: Math.max(0, Math.ceil((e - b) / step)) };
  }
  const b = clamp(start < 0 ? start + n : start, -1, n - 1);
  const e = end === undefined ? -1 : clamp(end < 0 ? end + n : end, -1, n - 1);
  return { begin: b, length: Math.max(0, Math.ceil((e - b) / step)) };
}
