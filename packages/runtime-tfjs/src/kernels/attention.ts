/** The fused ops lowered to tfjs: Attention, Linear, Gelu. */
import * as tf from '@tensorflow/tfjs-core';
import { matMul } from './structural.ts';
import type { Kernel } from './types.ts';

/** (B, n, H*E) -> (B, H, n, E) */
function splitHeads(x: tf.Tensor, heads: number): tf.Tensor {
  const [b, n, width] = x.shape as [number, number, number];
  return tf.transpose(tf.reshape(x, [b, n, heads, width / heads]), [0, 2, 1, 3]);
}

function causalKeep(l: number, s: number): tf.Tensor {
  return tf.greaterEqual(tf.reshape(tf.range(0, l, 1, 'int32'), [l, 1]), tf.range(0, s, 1, 'int32'));
}

export const Attention: Kernel<'Attention'> = ([q, k, v, bias, mask], { numHeads, scale, causal, maskFill, probs }) => {
  const packed = numHeads > 0;
  const [query, key, value] = packed ? [q!, k!, v!].map((t) => splitHeads(t, numHeads)) as [tf.Tensor, tf.Tensor, tf.Tensor] : [q!, k!, v!];
  let scores = tf.mul(matMul(query, key, false, true), tf.scalar(scale));
  if (bias) scores = tf.add(scores, bias);
  if (mask) scores = tf.where(tf.broadcastTo(mask, scores.shape), scores, tf.fill(scores.shape, maskFill));
  if (causal) {
    const [l, s] = scores.shape.slice(-2) as [number, number];
    scores = tf.where(tf.broadcastTo(causalKeep(l, s), scores.shape), scores, tf.fill(scores.shape, -Infinity));
  }
  const weights = tf.softmax(scores);
  let out = matMul(weights, value);
  if (packed) {
    const [b, , l] = out.shape as [number, number, number];
    out = tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [b, l, v!.shape[2]!]);
  }
  return probs ? [out, weights] : [out];
};

export const Linear: Kernel<'Linear'> = ([x, weight, bias]) => [matMul(x!, weight!, false, true, bias)];

/** Exact GELU: 0.5 x (1 + erf(x / sqrt 2)). */
export const Gelu: Kernel<'Gelu'> = ([x]) => [tf.mul(tf.mul(x!, 0.5), tf.add(tf.erf(tf.mul(x!, Math.SQRT1_2)), 1))];
