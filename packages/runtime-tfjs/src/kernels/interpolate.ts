/**
 * F.interpolate as two matmuls by the op's interpolation matrices (rows, then columns): exact for
 * bilinear and bicubic alike (tfjs has no bicubic resize, and its bilinear one takes no
 * scale_factor), and differentiable on every backend through matMul's gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import { interpolationMatrix, interpolationTaps } from '@tessera/graph-dsl';
import { matMul } from './structural.ts';
import type { Kernel } from './types.ts';

export const Interpolate: Kernel<'Interpolate'> = ([x], { mode, alignCorners, size, scales }) => {
  const [n, c, h, w] = x!.shape as [number, number, number, number];
  const [oh, ow] = size;
  const rows = tf.tensor2d(interpolationMatrix(interpolationTaps(h, oh, mode, alignCorners, scales?.[0]), h), [oh, h]);
  const cols = tf.tensor2d(interpolationMatrix(interpolationTaps(w, ow, mode, alignCorners, scales?.[1]), w), [ow, w]);
  // (N*C*H, W) @ cols^T -> (N*C, H, OW); then per plane rows @ (H, OW) as (N*C, OW, H) @ rows^T
  const byCols = matMul(tf.reshape(x!, [n * c * h, w]), cols, false, true);
  const planes = tf.transpose(tf.reshape(byCols, [n * c, h, ow]), [0, 2, 1]);
  const byRows = matMul(tf.reshape(planes, [n * c * ow, h]), rows, false, true);
  return [tf.transpose(tf.reshape(byRows, [n, c, ow, oh]), [0, 1, 3, 2])];
};
