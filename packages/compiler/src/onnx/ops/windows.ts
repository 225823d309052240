/** Swin's window partition and reverse as one Gather over the flattened H*W positions, between two Reshapes. */
import { windowPartitionIndex, windowReverseIndex } from '@tessera/graph-dsl';
import type { OnnxOpTable } from './types.ts';

export const windowOps = {
  WindowPartition: (node, cx) => {
    const [, h, w, c] = cx.inputType(node, 0).shape as [unknown, number, number, number];
    const flat = cx.emit('Reshape', [cx.input(node, 0), cx.int64([0, h * w, c])]);
    const moved = cx.emit('Gather', [flat, cx.int64([...windowPartitionIndex(h, w, node.attrs)])], { axis: 1 });
    cx.emit('Reshape', [moved, cx.int64([-1, node.attrs.window[0] * node.attrs.window[1], c])], {}, cx.output(node));
  },
  WindowReverse: (node, cx) => {
    const [h, w] = node.attrs.size;
    const c = cx.inputType(node, 0).shape[2] as number;
    const flat = cx.emit('Reshape', [cx.input(node, 0), cx.int64([-1, h * w, c])]);
    const moved = cx.emit('Gather', [flat, cx.int64([...windowReverseIndex(h, w, node.attrs)])], { axis: 1 });
    cx.emit('Reshape', [moved, cx.int64([-1, h, w, c])], {}, cx.output(node));
  },
} satisfies Partial<OnnxOpTable>;
