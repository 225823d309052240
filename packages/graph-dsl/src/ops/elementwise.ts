import type { DType } from '../dtype.ts';
import { broadcastShapes, defineOp, ShapeError, type TensorType } from './op.ts';

const FLOAT: readonly DType[] = ['float32'];
const NUMERIC: readonly DType[] = ['float32', 'int32'];
const ANY: readonly DType[] = ['float32', 'int32', 'bool'];

function sameDtype(a: TensorType, b: TensorType): DType {
  if (a.dtype !== b.dtype) throw new ShapeError(`operands must have one dtype, got ${a.dtype} and ${b.dtype} (cast one first)`);
  return a.dtype;
}

function unary<N extends string>(name: N, dtypes: readonly DType[]) {
  return defineOp<Record<string, never>>({
    name,
    inputs: [{ name: 'x', dtypes }],
    infer: ([x]) => [x!],
  });
}

function binary<N extends string>(name: N, dtypes: readonly DType[], result?: DType) {
  return defineOp<Record<string, never>>({
    name,
    inputs: [
      { name: 'a', dtypes },
      { name: 'b', dtypes },
    ],
    infer: ([a, b]) => [{ dtype: result ?? sameDtype(a!, b!), shape: broadcastShapes([a!.shape, b!.shape]) }],
  });
}

function comparison<N extends string>(name: N, dtypes: readonly DType[]) {
  return defineOp<Record<string, never>>({
    name,
    inputs: [
      { name: 'a', dtypes },
      { name: 'b', dtypes },
    ],
    infer: ([a, b]) => {
      sameDtype(a!, b!);
      return [{ dtype: 'bool', shape: broadcastShapes([a!.shape, b!.shape]) }];
    },
  });
}

export const Neg = unary('Neg', NUMERIC);
export const Abs = unary('Abs', NUMERIC);
export const Exp = unary('Exp', FLOAT);
export const Log = unary('Log', FLOAT);
export const Sqrt = unary('Sqrt', FLOAT);
export const Tanh = unary('Tanh', FLOAT);
export const Erf = unary('Erf', FLOAT);
/** Exact GELU, x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), as `nn.GELU()`. */
export const Gelu = unary('Gelu', FLOAT);
export const Relu = unary('Relu', FLOAT);
export const Sigmoid = unary('Sigmoid', FLOAT);
export const Sin = unary('Sin', FLOAT);
export const Cos = unary('Cos', FLOAT);
export const Not = unary('Not', ['bool']);

export const Add = binary('Add', NUMERIC);
export const Sub = binary('Sub', NUMERIC);
export const Mul = binary('Mul', NUMERIC);
export const Div = binary('Div', NUMERIC);
export const Pow = binary('Pow', FLOAT);
export const Maximum = binary('Maximum', NUMERIC);
export const Minimum = binary('Minimum', NUMERIC);
export const And = binary('And', ['bool']);
export const Or = binary('Or', ['bool']);

export const Equal = comparison('Equal', ANY);
export const Less = comparison('Less', NUMERIC);
export const LessEqual = comparison('LessEqual', NUMERIC);
export const Greater = comparison('Greater', NUMERIC);
export const GreaterEqual = comparison('GreaterEqual', NUMERIC);

export const Where = defineOp<Record<string, never>>({
  name: 'Where',
  inputs: [
    { name: 'condition', dtypes: ['bool'] },
    { name: 'a', dtypes: ANY },
    { name: 'b', dtypes: ANY },
  ],
  infer: ([c, a, b]) => [{ dtype: sameDtype(a!, b!), shape: broadcastShapes([c!.shape, a!.shape, b!.shape]) }],
});

export const Cast = defineOp<{ to: DType }>({
  name: 'Cast',
  inputs: [{ name: 'x', dtypes: ANY }],
  infer: ([x], { to }) => [{ dtype: to, shape: x!.shape }],
});
