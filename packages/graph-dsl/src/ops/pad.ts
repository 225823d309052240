/** Constant padding (`F.pad(x, pad, mode='constant', value)`): each axis grows by a count before and after. */
import type { DType } from '../dtype.ts';
import { addDims, shapeToString } from '../dim.ts';
import { defineOp, ShapeError } from './op.ts';

export interface PadAttrs {
  /** One [before, after] pair per axis, in axis order (F.pad's list, last axis first, is turned around by the DSL); counts are >= 0. */
  readonly pads: readonly (readonly [number, number])[];
  readonly value: number;
}

const NUMERIC: readonly DType[] = ['float32', 'int32'];

export const Pad = defineOp<PadAttrs>({
  name: 'Pad',
  inputs: [{ name: 'x', dtypes: NUMERIC }],
  infer: ([x], { pads, value }) => {
    if (pads.length !== x!.shape.length) throw new ShapeError(`pads needs one [before, after] pair per axis of ${shapeToString(x!.shape)}, got ${pads.length}`);
    if (pads.some((p) => !p.every((n) => Number.isInteger(n) && n >= 0))) throw new ShapeError(`pad counts must be whole numbers >= 0, got ${JSON.stringify(pads)}`);
    if (x!.dtype === 'int32' && !Number.isInteger(value)) throw new ShapeError(`an int32 tensor cannot be padded with ${value}`);
    return [{ dtype: x!.dtype, shape: x!.shape.map((d, i) => addDims(d, pads[i]![0] + pads[i]![1])) }];
  },
});
