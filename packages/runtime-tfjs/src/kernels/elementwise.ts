/** Elementwise ops: each is one tfjs call (tfjs broadcasts like NumPy). */
import * as tf from '@tensorflow/tfjs-core';
import type { Kernel } from './types.ts';

type Unary = (x: tf.Tensor) => tf.Tensor;
type Binary = (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;
/** The kernel of an op without attributes. */
type Plain = (inputs: readonly tf.Tensor[]) => tf.Tensor[];
const unary = (f: Unary): Plain => ([x]) => [f(x!)];
const binary = (f: Binary): Plain => ([a, b]) => [f(a!, b!)];

export const Neg = unary(tf.neg);
export const Abs = unary(tf.abs);
export const Exp = unary(tf.exp);
export const Log = unary(tf.log);
export const Sqrt = unary(tf.sqrt);
export const Tanh = unary(tf.tanh);
export const Erf = unary(tf.erf);
export const Relu = unary(tf.relu);
export const Sigmoid = unary(tf.sigmoid);
export const Sin = unary(tf.sin);
export const Cos = unary(tf.cos);
export const Not = unary(tf.logicalNot);

export const Add = binary(tf.add);
export const Sub = binary(tf.sub);
export const Mul = binary(tf.mul);
export const Pow = binary(tf.pow);
export const Maximum = binary(tf.maximum);
export const Minimum = binary(tf.minimum);
export const And = binary(tf.logicalAnd);
export const Or = binary(tf.logicalOr);
export const Equal = binary(tf.equal);
export const Less = binary(tf.less);
export const LessEqual = binary(tf.lessEqual);
export const Greater = binary(tf.greater);
export const GreaterEqual = binary(tf.greaterEqual);

/**
 * Float division, and for int32 division that truncates toward zero as ONNX's Div and C do
 * (tfjs's own int division floors). The float quotient is exact for |values| < 2^24; the cast
 * to int32 truncates.
 */
export const Div: Kernel<'Div'> = ([a, b]) => {
  if (a!.dtype !== 'int32') return [tf.div(a!, b!)];
  return [tf.cast(tf.div(tf.cast(a!, 'float32'), tf.cast(b!, 'float32')), 'int32')];
};

/** tf.where broadcasts condition, a and b to one shape. */
export const Where: Kernel<'Where'> = ([condition, a, b]) => [tf.where(condition!, a!, b!)];

/**
 * Float to int32 truncates toward zero. To bool is `x != 0`, written out: the wasm backend's
 * Cast to bool truncates to a byte (0.5 -> false, -2 -> 254).
 */
export const Cast: Kernel<'Cast'> = ([x], { to }) => {
  if (x!.dtype === to) return [tf.clone(x!)];
  if (to === 'bool') return [tf.notEqual(x!, tf.scalar(0, x!.dtype))];
  return [tf.cast(x!, to)];
};
