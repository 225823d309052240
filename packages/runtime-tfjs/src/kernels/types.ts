import type * as tf from '@tensorflow/tfjs-core';
import type { AttrsOf, Bindings, OpName } from '@tessera/graph-dsl';

/** What a kernel may know of the run it is part of. */
export interface KernelContext {
  /** Values of the symbolic dims ('B', 'T') in this run, read from the input shapes. */
  readonly bindings: Bindings;
  /** Training mode: dropout is active. */
  readonly training: boolean;
  /** A fresh seed for each random op, when the session is seeded. */
  readonly nextSeed?: () => number;
  /**
   * A tensor derived from a session parameter (a weight transposed), made once and kept until the
   * parameter changes; made anew each call where keeping it would be wrong (under a gradient tape,
   * or for a tensor that is not a parameter). Without a session, `make()`.
   */
  readonly derived?: (source: tf.Tensor, what: string, make: () => tf.Tensor) => tf.Tensor;
}

/**
 * One op lowered to tfjs calls, in tfjs-core's style: tensors in, tensors out, attrs as the op
 * defines them. An absent optional input is `undefined` at its index. A kernel returns new
 * tensors; temporaries it makes are freed by the executor's `tf.tidy` around it.
 */
export type Kernel<N extends OpName> = (inputs: readonly tf.Tensor[], attrs: AttrsOf<N>, ctx: KernelContext) => tf.Tensor[];

/** The lowering table: one kernel per op. A new op without a kernel is a type error here. */
export type KernelTable = { readonly [N in OpName]: Kernel<N> };
