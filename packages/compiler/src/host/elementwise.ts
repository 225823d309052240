import { type DType, type HostTensor, hostTensor } from '@tessera/graph-dsl';
import { erf } from './erf.ts';
import { broadcastIndex, broadcastShape } from './util.ts';

type Num = (x: number) => number;
type Num2 = (a: number, b: number) => number;

/** Runs `f` over every element; float32 math is done in double and rounded on store. */
export function mapUnary(x: HostTensor, f: Num, dtype: DType = x.dtype): HostTensor {
  const out = hostTensor(dtype, x.shape);
  const src = x.data as ArrayLike<number>;
  const dst = out.data as unknown as { [i: number]: number };
  for (let i = 0; i < src.length; i++) dst[i] = f(src[i]!);
  return out;
}

/** Runs `f` over the broadcast of `a` and `b`. */
export function mapBinary(a: HostTensor, b: HostTensor, f: Num2, dtype: DType = a.dtype): HostTensor {
  const shape = broadcastShape([a.shape, b.shape]);
  const out = hostTensor(dtype, shape);
  const ia = broadcastIndex(a.shape, shape);
  const ib = broadcastIndex(b.shape, shape);
  const da = a.data as ArrayLike<number>;
  const db = b.data as ArrayLike<number>;
  const dst = out.data as unknown as { [i: number]: number };
  for (let i = 0; i < ia.length; i++) dst[i] = f(da[ia[i]!]!, db[ib[i]!]!);
  return out;
}

const unary = (f: Num) => (inputs: readonly (HostTensor | null)[]) => [mapUnary(inputs[0]!, f)];
/** One function for floats, another for int32 (integer overflow wraps, division truncates as in ONNX). */
const arith = (f: Num2, int: Num2 = f) => (inputs: readonly (HostTensor | null)[]) => {
  const [a, b] = inputs as [HostTensor, HostTensor];
  return [mapBinary(a, b, a.dtype === 'int32' ? int : f)];
};
const compare = (f: (a: number, b: number) => boolean) => (inputs: readonly (HostTensor | null)[]) => [
  mapBinary(inputs[0]!, inputs[1]!, (a, b) => (f(a, b) ? 1 : 0), 'bool'),
];

export const Neg = unary((x) => -x);
export const Abs = unary(Math.abs);
export const Exp = unary(Math.exp);
export const Log = unary(Math.log);
export const Sqrt = unary(Math.sqrt);
export const Tanh = unary(Math.tanh);
export const Erf = unary(erf);
export const Gelu = unary((x) => 0.5 * x * (1 + erf(x * Math.SQRT1_2)));
export const Relu = unary((x) => (x > 0 ? x : 0));
export const Sigmoid = unary((x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))));
export const Sin = unary(Math.sin);
export const Cos = unary(Math.cos);
export const Not = unary((x) => (x ? 0 : 1));

export const Add = arith((a, b) => a + b);
export const Sub = arith((a, b) => a - b);
export const Mul = arith((a, b) => a * b, Math.imul);
export const Div = arith((a, b) => a / b, (a, b) => (b === 0 ? 0 : Math.trunc(a / b)));
export const Pow = arith(Math.pow);
export const Maximum = arith((a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.max(a, b)));
export const Minimum = arith((a, b) => (Number.isNaN(a) || Number.isNaN(b) ? NaN : Math.min(a, b)));
export const And = arith((a, b) => (a && b ? 1 : 0));
export const Or = arith((a, b) => (a || b ? 1 : 0));

export const Equal = compare((a, b) => a === b);
export const Less = compare((a, b) => a < b);
export const LessEqual = compare((a, b) => a <= b);
export const Greater = compare((a, b) => a > b);
export const GreaterEqual = compare((a, b) => a >= b);

export function Where(inputs: readonly (HostTensor | null)[]): HostTensor[] {
  const [c, a, b] = inputs as [HostTensor, HostTensor, HostTensor];
  const shape = broadcastShape([c.shape, a.shape, b.shape]);
  const out = hostTensor(a.dtype, shape);
  const [ic, ia, ib] = [broadcastIndex(c.shape, shape), broadcastIndex(a.shape, shape), broadcastIndex(b.shape, shape)];
  const [dc, da, db] = [c.data, a.data as ArrayLike<number>, b.data as ArrayLike<number>];
  const dst = out.data as unknown as { [i: number]: number };
  for (let i = 0; i < ic.length; i++) dst[i] = dc[ic[i]!] ? da[ia[i]!]! : db[ib[i]!]!;
  return [out];
}

/** Float to int truncates toward zero (ONNX, C); anything to bool is `x != 0`. */
export function Cast(inputs: readonly (HostTensor | null)[], { to }: { to: DType }): HostTensor[] {
  const f: Num = to === 'bool' ? (x) => (x !== 0 ? 1 : 0) : to === 'int32' ? (x) => Math.trunc(x) | 0 : (x) => x;
  return [mapUnary(inputs[0]!, f, to)];
}
