/** Data movement: Reshape, Transpose, Concat, Slice, Gather, Roll, Expand, Pad. Target shapes become int64 inputs. */
import { type Dim, dimsEqual, hostTensor, isSymbolic, sliceRange } from '@tessera/graph-dsl';
import { INT64_MAX, INT64_MIN } from '../proto.ts';
import type { OnnxOpTable } from './types.ts';

export const shapeOps = {
  Reshape: (node, cx) => {
    // from the tensor that holds the input, whatever its shape; the output is held by it too
    const held = cx.view(node, 0);
    cx.reshape(held.name, held.shape, node.attrs.shape, cx.output(node));
    cx.shareView(node, held);
  },

  Transpose: (node, cx) => {
    cx.emit('Transpose', [cx.input(node, 0)], { perm: node.attrs.perm }, cx.output(node));
  },

  Concat: (node, cx) => {
    cx.emit('Concat', node.inputs.map((_, i) => cx.input(node, i)), { axis: node.attrs.axis }, cx.output(node));
  },

  Slice: (node, cx) => {
    const { axis, start, end, step } = node.attrs;
    const n = cx.inputType(node, 0).shape[axis]!;
    let bounds: [number | bigint, number | bigint, number];
    if (typeof n === 'number') {
      // a concrete size: Python's slice.indices decides, and ONNX gets the exact range
      const { begin, length } = sliceRange(n, node.attrs);
      if (length === 0) bounds = [0, 0, 1];
      else {
        const last = begin + (length - 1) * step;
        bounds = [begin, step > 0 ? last + 1 : last - 1 < 0 ? INT64_MIN : last - 1, step];
      }
    } else {
      // a symbolic size has step 1 (the op's rule), where ONNX's clamping is Python's
      bounds = [start, end ?? (step > 0 ? INT64_MAX : INT64_MIN), step];
    }
    const [s, e, st] = bounds;
    cx.emit('Slice', [cx.input(node, 0), cx.int64([s]), cx.int64([e]), cx.int64([axis]), cx.int64([st])], {}, cx.output(node));
  },

  Gather: (node, cx) => {
    cx.emit('Gather', [cx.input(node, 0), cx.input(node, 1)], { axis: node.attrs.axis }, cx.output(node));
  },

  /** ONNX has no Roll: per axis, the last `shift` entries are sliced off and concatenated in front. */
  Roll: (node, cx) => {
    const x = cx.inputType(node, 0);
    let current = cx.input(node, 0);
    node.attrs.axes.forEach((axis, k) => {
      const shift = node.attrs.shifts[k]!;
      const n = x.shape[axis]!;
      let split: string;
      if (typeof n === 'number') {
        const s = n === 0 ? 0 : ((shift % n) + n) % n;
        if (s === 0) return;
        split = cx.int64([n - s]);
      } else {
        // at run time: split = n - (shift mod n), Mod with the divisor's sign as Python's %; max(n, 1) spares an empty axis a division by 0
        const size = cx.emit('Shape', [current], { start: axis, end: axis + 1 });
        const divisor = cx.emit('Max', [size, cx.int64([1])]);
        const s = cx.emit('Mod', [cx.int64([shift]), divisor], { fmod: 0 });
        split = cx.emit('Sub', [size, s]);
      }
      const axes = cx.int64([axis]);
      const tail = cx.emit('Slice', [current, split, cx.int64([INT64_MAX]), axes]);
      const head = cx.emit('Slice', [current, cx.int64([0]), split, axes]);
      current = cx.emit('Concat', [tail, head], { axis });
    });
    cx.alias(node, current);
  },

  Expand: (node, cx) => {
    const x = cx.inputType(node, 0);
    const target: readonly Dim[] = node.attrs.shape;
    const offset = target.length - x.shape.length;
    // a 1 keeps the input's size under ONNX's two-way broadcast: exact wherever the input already has the target size
    const overrides = new Map<number, number>();
    target.forEach((d, i) => {
      if (isSymbolic(d) && i >= offset && dimsEqual(x.shape[i - offset]!, d)) overrides.set(i, 1);
    });
    cx.emit('Expand', [cx.input(node, 0), cx.shape(target, overrides)], {}, cx.output(node));
  },

  /** ONNX's pads are all the begins, then all the ends; the constant has the input's type. */
  Pad: (node, cx) => {
    const { pads, value } = node.attrs;
    const fill = cx.constant(hostTensor(cx.inputType(node, 0).dtype, [], [value]));
    cx.emit('Pad', [cx.input(node, 0), cx.int64([...pads.map((p) => p[0]), ...pads.map((p) => p[1])]), fill], { mode: 'constant' }, cx.output(node));
  },
} satisfies Partial<OnnxOpTable>;
