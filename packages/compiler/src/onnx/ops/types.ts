import type { NodeOf, OpName } from '@tessera/graph-dsl';
import type { LoweringContext } from '../context.ts';

/** Writes the ONNX nodes for one IR node of op N. */
export type OnnxLowering<N extends OpName> = (node: NodeOf<N>, cx: LoweringContext) => void;

/** One mapping per op: a missing op is a type error where the table is assembled. */
export type OnnxOpTable = { readonly [N in OpName]: OnnxLowering<N> };
