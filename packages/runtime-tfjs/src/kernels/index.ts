import * as fused from './attention.ts';
import * as elementwise from './elementwise.ts';
import * as interpolate from './interpolate.ts';
import * as structural from './structural.ts';
import * as windows from './windows.ts';
import type { KernelTable } from './types.ts';
import './gradients.ts';

export type { Kernel, KernelContext, KernelTable } from './types.ts';
export { matMul } from './structural.ts';

/** The lowering table: every op of graph-dsl's OPS, by name, to its tfjs kernel. */
export const KERNELS: KernelTable = {
  Neg: elementwise.Neg,
  Abs: elementwise.Abs,
  Exp: elementwise.Exp,
  Log: elementwise.Log,
  Sqrt: elementwise.Sqrt,
  Tanh: elementwise.Tanh,
  Erf: elementwise.Erf,
  Relu: elementwise.Relu,
  Sigmoid: elementwise.Sigmoid,
  Sin: elementwise.Sin,
  Cos: elementwise.Cos,
  Not: elementwise.Not,
  Add: elementwise.Add,
  Sub: elementwise.Sub,
  Mul: elementwise.Mul,
  Div: elementwise.Div,
  Pow: elementwise.Pow,
  Maximum: elementwise.Maximum,
  Minimum: elementwise.Minimum,
  And: elementwise.And,
  Or: elementwise.Or,
  Equal: elementwise.Equal,
  Less: elementwise.Less,
  LessEqual: elementwise.LessEqual,
  Greater: elementwise.Greater,
  GreaterEqual: elementwise.GreaterEqual,
  Where: elementwise.Where,
  Cast: elementwise.Cast,
  MatMul: structural.MatMul,
  Reshape: structural.Reshape,
  Transpose: structural.Transpose,
  Concat: structural.Concat,
  Slice: structural.Slice,
  Gather: structural.Gather,
  Roll: structural.Roll,
  Expand: structural.Expand,
  ReduceSum: structural.ReduceSum,
  ReduceMean: structural.ReduceMean,
  ReduceMax: structural.ReduceMax,
  Softmax: structural.Softmax,
  LayerNorm: structural.LayerNorm,
  AddLayerNorm: structural.AddLayerNorm,
  Conv2d: structural.Conv2d,
  Dropout: structural.Dropout,
  Range: structural.Range,
  Constant: structural.Constant,
  Attention: fused.Attention,
  Linear: fused.Linear,
  Gelu: fused.Gelu,
  WindowPartition: windows.WindowPartition,
  WindowReverse: windows.WindowReverse,
  Pad: structural.Pad,
  Interpolate: interpolate.Interpolate,
};
