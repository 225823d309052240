/** The fused ops lowered to tfjs: Attention, Linear, Gelu. */
import * as tf from '@tensorflow/tfjs-core';
import { headSwap } from '@tessera/graph-dsl';
import { matMul } from './structural.ts';
import type { Kernel } from './types.ts';

/** (..., n, H*E) -> (..., H, n, E) */
function splitHeads(x: tf.Tensor, heads: number): tf.Tensor {
  const width = x.shape[x.rank - 1]!;
  return tf.transpose(tf.reshape(x, [...x.shape.slice(0, -1), heads, width / heads]), headSwap(x.rank + 1));
}

/**
 * Multiply-adds of one (m, k) x (k, n) pair from which the pairs of a batch are multiplied one by
 * one on wasm. Measured here (tfjs-backend-wasm 4.22, one thread): its batched matMul runs at about
 * 2 GFLOP/s at every size, one 2-D matMul at 8-28, but a pair costs a call: ViT-B's 12 heads of
 * 197x64x197 (2.5M) take 7.6 ms one by one against 28 batched (96 pairs at batch 8: 164 against
 * 232), while Swin's 192 windows x heads of 49x32x49 (77k) take 47 ms one by one against 15 batched.
 */
const PAIRWISE_MIN = 500_000;
const PAIRS_PER_GROUP = 12;

/** a @ b (b^T when `transposeB`) over matching leading dims, in the form fastest for the backend and size. */
function products(a: tf.Tensor, b: tf.Tensor, transposeB: boolean): tf.Tensor {
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape[b.rank - (transposeB ? 2 : 1)]!;
  const lead = a.shape.slice(0, -2);
  const pairs = lead.reduce((x, y) => x * y, 1);
  if (tf.getBackend() !== 'wasm' || pairs === 1 || m * k * n < PAIRWISE_MIN) return matMul(a, b, false, transposeB);
  const right = tf.reshape(transposeB ? tf.transpose(b, [...lead.map((_, i) => i), b.rank - 1, b.rank - 2]) : b, [pairs, k, n]);
  const left = tf.reshape(a, [pairs, m, k]);
  // in groups of at most PAIRS_PER_GROUP pairs: one pass over every pair at once slows down out of
  // proportion past a dozen (ViT-B at batch 8, 96 pairs: 865 ms against 441 batched)
  const groups = Math.ceil(pairs / PAIRS_PER_GROUP);
  const sizes = Array.from({ length: groups }, (_, g) => Math.min(PAIRS_PER_GROUP, pairs - g * PAIRS_PER_GROUP));
  const [lefts, rights] = groups === 1 ? [[left], [right]] : [tf.split(left, sizes, 0), tf.split(right, sizes, 0)];
  const parts = lefts.map((l, g) => {
    const rs = tf.unstack(rights[g]!);
    return tf.stack(tf.unstack(l).map((x, i) => tf.matMul(x, rs[i]!)));
  });
  return tf.reshape(parts.length === 1 ? parts[0]! : tf.concat(parts, 0), [...lead, m, n]);
}

function causalKeep(l: number, s: number): tf.Tensor {
  return tf.greaterEqual(tf.reshape(tf.range(0, l, 1, 'int32'), [l, 1]), tf.range(0, s, 1, 'int32'));
}

export const Attention: Kernel<'Attention'> = ([q, k, v, bias, mask], { numHeads, scale, causal, maskFill, probs }) => {
  const packed = numHeads > 0;
  const [query, key, value] = packed ? [q!, k!, v!].map((t) => splitHeads(t, numHeads)) as [tf.Tensor, tf.Tensor, tf.Tensor] : [q!, k!, v!];
  let scores = tf.mul(products(query, key, true), tf.scalar(scale));
  if (bias) scores = tf.add(scores, bias);
  if (mask) scores = tf.where(tf.broadcastTo(mask, scores.shape), scores, tf.fill(scores.shape, maskFill));
  if (causal) {
    const [l, s] = scores.shape.slice(-2) as [number, number];
    scores = tf.where(tf.broadcastTo(causalKeep(l, s), scores.shape), scores, tf.fill(scores.shape, -Infinity));
  }
  const weights = tf.softmax(scores);
  let out = products(weights, value, false);
  if (packed) {
    out = tf.reshape(tf.transpose(out, headSwap(out.rank)), [...q!.shape.slice(0, -1), v!.shape[v!.rank - 1]!]);
  }
  return probs ? [out, weights] : [out];
};

/**
 * x @ W^T + b. On wasm the weight is transposed explicitly (a transpose flag multiplies 10x
 * slower there), once per session while the weight stays the same: re-transposing ViT-B's
 * (3072, 768) weight each run costs more than the product (33.5 ms against 8.3 for 49 rows).
 */
export const Linear: Kernel<'Linear'> = ([x, weight, bias], _, ctx) => {
  if (tf.getBackend() !== 'wasm') return [matMul(x!, weight!, false, true, bias)];
  const transpose = () => tf.transpose(weight!);
  return [matMul(x!, ctx.derived ? ctx.derived(weight!, 'transposed', transpose) : transpose(), false, false, bias)];
};

/** Exact GELU: 0.5 x (1 + erf(x / sqrt 2)). */
export const Gelu: Kernel<'Gelu'> = ([x]) => [tf.mul(tf.mul(x!, 0.5), tf.add(tf.erf(tf.mul(x!, Math.SQRT1_2)), 1))];
