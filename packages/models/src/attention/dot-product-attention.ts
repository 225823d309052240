import { F, Module, type Tensor } from '@tessera/graph-dsl';
import { maskedSoftmax } from './masked-softmax.ts';

export interface AttentionResult {
  readonly output: Tensor<'float32', 3>;
  readonly attentionWeights: Tensor<'float32', 3>;
}

/** Scaled dot-product attention: softmax(Q K^T / sqrt(d)) V, with d2l's valid-length mask. */
export class DotProductAttention extends Module {
  constructor(readonly dropout = 0) {
    super();
  }
  forward(queries: Tensor<'float32', 3>, keys: Tensor<'float32', 3>, values: Tensor<'float32', 3>, validLens?: Tensor<'int32', 1> | Tensor<'int32', 2>): AttentionResult {
    const d = queries.size(-1) as number;
    const scores = queries.matmul(keys.mT).div(Math.sqrt(d));
    const attentionWeights = maskedSoftmax(scores, validLens);
    return { output: F.dropout(attentionWeights, this.dropout).matmul(values), attentionWeights };
  }
}
