/** Reductions and Softmax. ReduceSum takes axes as an input since opset 13, ReduceMean/ReduceMax since 18. */
import type { NodeOf } from '@tessera/graph-dsl';
import type { LoweringContext } from '../context.ts';
import type { OnnxOpTable } from './types.ts';

const AXES_AS_INPUT_SINCE = { ReduceSum: 13, ReduceMean: 18, ReduceMax: 18 } as const;

function reduction(opType: keyof typeof AXES_AS_INPUT_SINCE) {
  return (node: NodeOf<'ReduceSum' | 'ReduceMean' | 'ReduceMax'>, cx: LoweringContext) => {
    const { axes, keepdims } = node.attrs;
    const x = cx.input(node, 0);
    // no axes reduces nothing in the IR; ONNX would read an empty axes list as "all axes"
    if (axes.length === 0) return cx.alias(node, x);
    if (cx.opset >= AXES_AS_INPUT_SINCE[opType]) cx.emit(opType, [x, cx.int64(axes)], { keepdims: keepdims ? 1 : 0 }, cx.output(node));
    else cx.emit(opType, [x], { axes, keepdims: keepdims ? 1 : 0 }, cx.output(node));
  };
}

export const reduceOps = {
  ReduceSum: reduction('ReduceSum'),
  ReduceMean: reduction('ReduceMean'),
  ReduceMax: reduction('ReduceMax'),
  Softmax: (node, cx) => {
    cx.emit('Softmax', [cx.input(node, 0)], { axis: node.attrs.axis }, cx.output(node));
  },
} satisfies Partial<OnnxOpTable>;
