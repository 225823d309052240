import { shapesEqual } from '@tessera/graph-dsl';
/** Elementwise ops: each is one ONNX op of the same arity, Cast carries its target type. */
import type { Node } from '@tessera/graph-dsl';
import { type LoweringContext, type View } from '../context.ts';
import { residualSum } from './nn.ts';
import { onnxDataType } from '../proto.ts';
import type { OnnxOpTable } from './types.ts';

/** The operands as they are held, where nothing broadcasts and every one is held in the same shape (see LoweringContext.outputAs). */
function heldAlike(node: Node, cx: LoweringContext): View[] | undefined {
  const out = cx.type(node.outputs[0]!).shape;
  const held = node.inputs.map((_, i) => cx.view(node, i));
  const alike = node.inputs.every((_, i) => shapesEqual(cx.inputType(node, i).shape, out)) && held.every((h) => shapesEqual(h.shape, held[0]!.shape));
  return alike ? held : undefined;
}

/** The IR node as the ONNX op `opType` with the same inputs and output, in the shape its operands are held in where they agree. */
const same = (opType: string) => (node: Node, cx: LoweringContext) => {
  const held = heldAlike(node, cx);
  if (held) cx.outputAs(node, held[0]!.shape, (o) => cx.emit(opType, held.map((h) => h.name), {}, o));
  else cx.emit(opType, node.inputs.map((_, i) => cx.input(node, i)), {}, cx.output(node));
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

  /** A residual add: with the bias of the Linear before it in one Sum for the onnxruntime target. */
  Add: (node, cx) => {
    const held = heldAlike(node, cx);
    if (held) cx.outputAs(node, held[0]!.shape, (o) => residualSum(node, cx, held[0]!.name, held[1]!.name, held[0]!.shape, o));
    else same('Add')(node, cx);
  },
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
