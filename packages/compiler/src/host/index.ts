import type { AttrsOf, HostTensor, OpName } from '@tessera/graph-dsl';
import * as fused from './attention.ts';
import * as elementwise from './elementwise.ts';
import * as interpolate from './interpolate.ts';
import * as math from './math.ts';
import * as shape from './shape.ts';
import * as windows from './windows.ts';

export { erf } from './erf.ts';
export { broadcastIndex, broadcastShape } from './util.ts';

/** A host kernel: concrete input tensors (null for an absent optional input) and the node's attrs to output tensors. */
export type HostKernel<N extends OpName = OpName> = (inputs: readonly (HostTensor | null)[], attrs: AttrsOf<N>) => HostTensor[];

/**
 * Reference kernels on the host, keyed by op name: what constant folding runs, and what the
 * host interpreter uses to check that passes keep the numbers. Clear, double-precision loops,
 * not fast ones. Dropout has none: it is impure, never folded.
 */
export const HOST_KERNELS: { readonly [N in OpName]?: HostKernel<N> } = { ...elementwise, ...math, ...shape, ...fused, ...windows, ...interpolate };

export function hasHostKernel(op: OpName): boolean {
  return Object.hasOwn(HOST_KERNELS, op);
}

/** Evaluates one op on host tensors. */
export function evaluateHost<N extends OpName>(op: N, inputs: readonly (HostTensor | null)[], attrs: AttrsOf<N>): HostTensor[] {
  const kernel = HOST_KERNELS[op] as HostKernel<N> | undefined;
  if (!kernel) throw new Error(`no host kernel for ${op}`);
  return kernel(inputs, attrs);
}
