/** Elementwise ops: each is one ONNX op of the same arity, Cast carries its target type. */
import type { Node } from '@tessera/graph-dsl';
import type { LoweringContext } from '../context.ts';
import { onnxDataType } from '../proto.ts';
import type { OnnxOpTable } from './types.ts';

/** The IR node as the ONNX op `opType` with the same inputs and output. */
const same = (opType: string) => (node: Node, cx: LoweringContext) => {
  cx.emit(opType, node.inputs.map((_, i) => cx.input(node, i)), {}, cx.output(node));
};

export const elementwiseOps = {
  Neg: same('Neg'),
  Abs: same('Abs'),
  Exp: same('Exp'),
  Log: same('Log'),
  Sqrt: same('Sqrt'),
  Tanh: same('Tanh'),
  Erf: same('Erf'),
  Relu: same('Relu'),
  Sigmoid: same('Sigmoid'),
  Sin: same('Sin'),
  Cos: same('Cos'),
  Not: same('Not'),

  Add: same('Add'),
  Sub: same('Sub'),
  Mul: same('Mul'),
  Div: same('Div'),
  Pow: same('Pow'),
  Maximum: same('Max'),
  Minimum: same('Min'),
  And: same('And'),
  Or: same('Or'),

  Equal: same('Equal'),
  Less: same('Less'),
  LessEqual: same('LessOrEqual'),
  Greater: same('Greater'),
  GreaterEqual: same('GreaterOrEqual'),

  Where: same('Where'),
  Cast: (node, cx) => {
    cx.emit('Cast', [cx.input(node, 0)], { to: onnxDataType(node.attrs.to) }, cx.output(node));
  },
} satisfies Partial<OnnxOpTable>;
