/**
 * Swin's window partition and reverse as one Gather over the flattened H*W positions. The map and
 * the windows are both held as (B, H*W, C) (see LoweringContext.outputAs): the gather is the whole
 * op, and the ops between two gathers (Linear, attention, LayerNorm) read that shape as it is.
 */
import { shapesEqual, windowPartitionIndex, windowReverseIndex } from '@tessera/graph-dsl';
import type { OnnxOpTable } from './types.ts';

export const windowOps = {
  WindowPartition: (node, cx) => {
    const [b, h, w, c] = cx.inputType(node, 0).shape as [number, number, number, number];
    const flat = cx.inputAs(node, 0, [b, h * w, c]);
    const index = cx.int64([...windowPartitionIndex(h, w, node.attrs)]);
    cx.outputAs(node, [b, h * w, c], (out) => cx.emit('Gather', [flat, index], { axis: 1 }, out));
  },
  /** A bias the Linear before it adds per channel is added after the gather as well, so a residual add after it may take it (Sum). */
  WindowReverse: (node, cx) => {
    const [b, h, w, c] = cx.type(node.outputs[0]!).shape as [number, number, number, number];
    const shape = [b, h * w, c];
    const index = cx.int64([...windowReverseIndex(h, w, node.attrs)]);
    const before = cx.target === 'onnxruntime' ? cx.unbiased(node, 0) : undefined;
    if (!before || !shapesEqual(before.shape, shape)) {
      const flat = cx.inputAs(node, 0, shape);
      cx.outputAs(node, shape, (out) => cx.emit('Gather', [flat, index], { axis: 1 }, out));
      return;
    }
    const moved = cx.emit('Gather', [before.name, index], { axis: 1 });
    cx.outputAs(node, shape, (out) => cx.emit('Add', [moved, before.bias], {}, out));
    cx.setUnbiased(node, { name: moved, shape, bias: before.bias });
  },
} satisfies Partial<OnnxOpTable>;
