import type { Node, OpName } from '@tessera/graph-dsl';
import type { LoweringContext } from '../context.ts';
import { fusedOps } from './attention.ts';
import { elementwiseOps } from './elementwise.ts';
import { interpolateOps } from './interpolate.ts';
import { nnOps } from './nn.ts';
import { reduceOps } from './reduce.ts';
import { shapeOps } from './shape.ts';
import { sourceOps } from './source.ts';
import { windowOps } from './windows.ts';
import type { OnnxLowering, OnnxOpTable } from './types.ts';

export type { OnnxLowering, OnnxOpTable } from './types.ts';

/** The ONNX mapping of every IR op, by op name. */
export const ONNX_OPS: OnnxOpTable = { ...elementwiseOps, ...shapeOps, ...reduceOps, ...nnOps, ...sourceOps, ...fusedOps, ...windowOps, ...interpolateOps };

export function lowerNode(node: Node, cx: LoweringContext): void {
  (ONNX_OPS[node.op] as OnnxLowering<OpName>)(node as never, cx);
}
