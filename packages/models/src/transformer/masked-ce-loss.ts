import { arange, type Tensor } from '@tessera/graph-dsl';

/** log(softmax(x)) over the last axis, stable: x - max - log(sum(exp(x - max))). */
export function logSoftmax<R extends number>(x: Tensor<'float32', R>): Tensor<'float32', R> {
  const shifted = x.sub(x.amax(-1, true)) as Tensor<'float32', R>;
  return shifted.sub(shifted.exp().sum(-1, true).log()) as Tensor<'float32', R>;
}

/**
 * d2l's MaskedSoftmaxCELoss, averaged over the valid target positions only: softmax
 * cross-entropy of logits (B, T, V) against labels (B, T), where positions at or after each
 * row's valid length (B,) count for nothing. With `labelSmoothing` e the target puts 1 - e on
 * the label and spreads e evenly over the vocabulary (torch's label_smoothing).
 */
export function maskedSoftmaxCELoss(logits: Tensor<'float32', 3>, labels: Tensor<'int32', 2>, validLens: Tensor<'int32', 1>, labelSmoothing = 0): Tensor<'float32', 0> {
  const V = logits.size(-1);
  const logp = logSoftmax(logits);
  const oneHot = (arange(logits, V) as Tensor<'int32', 1>).eq(labels.unsqueeze(-1)).to('float32') as Tensor<'float32', 3>;
  const target = labelSmoothing > 0 ? (oneHot.mul(1 - labelSmoothing).add(labelSmoothing / (V as number)) as Tensor<'float32', 3>) : oneHot;
  const perToken = target.mul(logp).sum(-1).neg() as Tensor<'float32', 2>; // (B, T)
  const keep = (arange(labels, labels.size(1)) as Tensor<'int32', 1>).lt(validLens.unsqueeze(-1)).to('float32') as Tensor<'float32', 2>;
  return perToken.mul(keep).sum([0, 1]).div(keep.sum([0, 1]).maximum(1)) as Tensor<'float32', 0>;
}
