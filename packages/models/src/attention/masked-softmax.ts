import { arange, type Tensor, where } from '@tessera/graph-dsl';

/** The value d2l writes over masked scores: large and negative, so that softmax gives ~0 there. */
export const MASKED_SCORE = -1e6;

/**
 * Softmax over the last axis of scores (B, Q, K), with every key position at or after the
 * valid length masked first. `validLens` is (B,): one length per batch row, or (B, Q): one per
 * query. Without lengths it is a plain softmax.
 */
export function maskedSoftmax(scores: Tensor<'float32', 3>, validLens?: Tensor<'int32', 1> | Tensor<'int32', 2>): Tensor<'float32', 3> {
  if (!validLens) return scores.softmax(-1);
  const lens = validLens.rank === 1 ? validLens.reshape([validLens.size(0), 1, 1]) : validLens.unsqueeze(-1);
  const keyPositions = arange(scores, scores.size(-1));
  const keep = keyPositions.lt(lens);
  return where(keep, scores, MASKED_SCORE).softmax(-1) as Tensor<'float32', 3>;
}
