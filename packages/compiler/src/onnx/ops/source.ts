/** Ops without tensor inputs: Range (whose end may be a symbolic dim) and Constant (an initializer). */
import { hostTensor } from '@tessera/graph-dsl';
import { onnxDataType } from '../proto.ts';
import type { OnnxOpTable } from './types.ts';

export const sourceOps = {
  Range: (node, cx) => {
    const { start, end, step, dtype } = node.attrs;
    const scalar = (v: number) => cx.constant(hostTensor(dtype, [], [v]));
    let limit: string;
    if (typeof end === 'number') limit = scalar(end);
    else {
      // the end is read from the input shapes as int64 [1]: made a scalar of the range's type
      const size = cx.emit('Squeeze', [cx.dim(end), cx.int64([0])]);
      limit = cx.emit('Cast', [size], { to: onnxDataType(dtype) });
    }
    cx.emit('Range', [scalar(start), limit, scalar(step)], {}, cx.output(node));
  },

  Constant: (node, cx) => {
    cx.alias(node, cx.constant(node.attrs.value));
  },
} satisfies Partial<OnnxOpTable>;
