/** MatMul, LayerNorm, AddLayerNorm, Conv2d and Dropout (exported in inference form: the identity). */
import { hostTensor, isSymbolic, normalizeAxis, type TensorType } from '@tessera/graph-dsl';
import type { LoweringContext } from '../context.ts';
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

export const nnOps = {
  MatMul: (node, cx) => {
    cx.emit('MatMul', [cx.input(node, 0), cx.input(node, 1)], {}, cx.output(node));
  },

  /** LayerNormalization (opset 17) normalizes the axes from `axis` on; ONNX requires a scale, so an absent weight is ones. */
  LayerNorm: (node, cx) => {
    layerNormalization(cx, node.attrs, cx.input(node, 0), cx.inputType(node, 0), cx.input(node, 1), cx.input(node, 2), cx.output(node));
  },

  /**
   * An Add, then LayerNormalization of the sum, for every target: ONNX Runtime fuses the pair itself,
   * with the bias of the product before it, which its SkipLayerNormalization written by us prevented
   * (ViT-B/16 3 % slower, measured side by side).
   */
  AddLayerNorm: (node, cx) => {
    const sum = cx.emit('Add', [cx.input(node, 0), cx.input(node, 1)], {}, cx.output(node, 1));
    layerNormalization(cx, node.attrs, sum, cx.inputType(node, 0), cx.input(node, 2), cx.input(node, 3), cx.output(node));
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
