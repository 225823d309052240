/** MatMul, LayerNorm, AddLayerNorm, Conv2d and Dropout (exported in inference form: the identity). */
import { type Dim, hostTensor, isSymbolic, type Node, type NodeOf, normalizeAxis, shapesEqual, type TensorType } from '@tessera/graph-dsl';
import { type LoweringContext } from '../context.ts';
import { lastAxisView } from './attention.ts';
import type { OnnxOpTable } from './types.ts';

function layerNormalization(cx: LoweringContext, { axis: a, eps }: { axis: number; eps: number }, x: string, xType: TensorType, weight: string, bias: string, output: string): void {
  const axis = normalizeAxis(a, xType.shape.length);
  let scale = weight;
  if (scale === '') {
    const normalized = xType.shape.slice(axis);
    if (normalized.some(isSymbolic)) {
      const shape = cx.emit('Shape', [x], { start: axis });
      scale = cx.emit('ConstantOfShape', [shape], { value: { tensor: hostTensor('float32', [1], [1]) } });
    } else {
      const ones = hostTensor('float32', normalized as number[]);
      ones.data.fill(1);
      scale = cx.constant(ones);
    }
  }
  // an absent bias stays absent: B is optional in LayerNormalization
  cx.emit('LayerNormalization', [x, scale, bias], { axis, epsilon: { float: eps } }, output);
}

/**
 * The shape to normalize in: where the norm is over the last axis only, the first of the inputs
 * held in another shape (any leading dims then, and the others are read in it); the IR type otherwise.
 */
function normShape(node: NodeOf<'LayerNorm' | 'AddLayerNorm'>, cx: LoweringContext, inputs: readonly number[]): readonly Dim[] {
  const ir = cx.inputType(node, 0).shape;
  if (normalizeAxis(node.attrs.axis, ir.length) !== ir.length - 1) return ir;
  const held = inputs.map((i) => lastAxisView(cx, node.inputs[i]!).shape).find((shape) => !shapesEqual(shape, ir));
  return held ?? ir;
}

/** x + residual into `out`; for the onnxruntime target with the bias of a Linear that computes the residual added in the same node (Sum). */
export function residualSum(node: Node, cx: LoweringContext, x: string, residual: string, shape: readonly Dim[], out: string): void {
  const before = cx.target === 'onnxruntime' ? cx.unbiased(node, 1) : undefined;
  if (before && shapesEqual(before.shape, shape)) cx.emit('Sum', [x, before.name, before.bias], {}, out);
  else cx.emit('Add', [x, residual], {}, out);
}

export const nnOps = {
  MatMul: (node, cx) => {
    cx.emit('MatMul', [cx.input(node, 0), cx.input(node, 1)], {}, cx.output(node));
  },

  /**
   * LayerNormalization (opset 17) normalizes the axes from `axis` on; ONNX requires a scale, so an
   * absent weight is ones. Over the last axis only, the input is read in the shape it is held in.
   */
  LayerNorm: (node, cx) => {
    const shape = normShape(node, cx, [0]);
    const x = cx.inputAs(node, 0, shape);
    cx.outputAs(node, shape, (out) => layerNormalization(cx, node.attrs, x, { ...cx.inputType(node, 0), shape }, cx.input(node, 1), cx.input(node, 2), out));
  },

  /**
   * An Add, then LayerNormalization of the sum. For the onnxruntime target a Linear's bias before it
   * joins the add as one Sum (x + product + bias). Not com.microsoft SkipLayerNormalization: its CPU
   * kernel took 690 us a node on Swin-T against 150 for Add + LayerNormalization (fastest of 8 runs
   * per node, ONNX Runtime 1.30, one thread), and made ViT-B/16 3 % slower.
   */
  AddLayerNorm: (node, cx) => {
    const shape = normShape(node, cx, [0, 1]);
    const [x, residual] = [cx.inputAs(node, 0, shape), cx.inputAs(node, 1, shape)];
    cx.outputAs(node, shape, (out, sum) => {
      residualSum(node, cx, x, residual, shape, sum!);
      layerNormalization(cx, node.attrs, sum!, { ...cx.inputType(node, 0), shape }, cx.input(node, 2), cx.input(node, 3), out!);
    });
  },

  Conv2d: (node, cx) => {
    const w = cx.inputType(node, 1);
    const { strides, pads, dilations, groups } = node.attrs;
    cx.emit(
      'Conv',
      [cx.input(node, 0), cx.input(node, 1), cx.input(node, 2)],
      // ONNX pads are [x1_begin, x2_begin, x1_end, x2_end] = [top, left, bottom, right], as ours
      { kernel_shape: w.shape.slice(2) as number[], strides, pads, dilations, group: groups },
      cx.output(node),
    );
  },

  /** Inference form: dropout is the identity, so no node is written. */
  Dropout: (node, cx) => {
    cx.alias(node, cx.input(node, 0));
  },
} satisfies Partial<OnnxOpTable>;
