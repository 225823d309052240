import * as attention from './attention.ts';
import * as elementwise from './elementwise.ts';
import { Interpolate } from './interpolate.ts';
import { Pad } from './pad.ts';
import * as structural from './structural.ts';
import * as windows from './windows.ts';
import type { OpDef } from './op.ts';

export * from './op.ts';
export type { Conv2dAttrs, ReduceAttrs } from './structural.ts';
export { type AttentionAttrs, attentionShapes, headSwap } from './attention.ts';
export { swapAxes } from './perm.ts';
export { type WindowAttrs, windowPartitionIndex, windowReverseIndex } from './windows.ts';
export { type InterpolateAttrs, type InterpolateMode, interpolateHost, interpolationMatrix, interpolationTaps, type Taps } from './interpolate.ts';
export type { PadAttrs } from './pad.ts';

/** Every op, by name. Stages that handle ops (lowering, export, folding) key their tables by these names. */
export const OPS = { ...elementwise, ...structural, Attention: attention.Attention, WindowPartition: windows.WindowPartition, WindowReverse: windows.WindowReverse, Pad, Interpolate } as const;

export type Ops = typeof OPS;
export type OpName = keyof Ops;
export type AttrsOf<N extends OpName> = Ops[N] extends OpDef<infer A> ? A : never;

export function opDef(name: OpName): OpDef<object> {
  return OPS[name] as OpDef<object>;
}

export function isOpName(name: string): name is OpName {
  return Object.hasOwn(OPS, name);
}
