import { F, Module, nn, type Tensor } from '@tessera/graph-dsl';
import type { AttentionResult } from './dot-product-attention.ts';
import { maskedSoftmax } from './masked-softmax.ts';

/** Additive (Bahdanau) attention: score(q, k) = w_v . tanh(W_q q + W_k k). */
export class AdditiveAttention extends Module {
  readonly W_k: nn.Linear;
  readonly W_q: nn.Linear;
  readonly w_v: nn.Linear;
  constructor(keySize: number, querySize: number, numHiddens: number, readonly dropout = 0) {
    super();
    this.W_k = new nn.Linear(keySize, numHiddens, false);
    this.W_q = new nn.Linear(querySize, numHiddens, false);
    this.w_v = new nn.Linear(numHiddens, 1, false);
  }
  forward(queries: Tensor<'float32', 3>, keys: Tensor<'float32', 3>, values: Tensor<'float32', 3>, validLens?: Tensor<'int32', 1> | Tensor<'int32', 2>): AttentionResult {
    const q = this.W_q.forward(queries); // (B, Q, h)
    const k = this.W_k.forward(keys); // (B, K, h)
    // Every query against every key: (B, Q, 1, h) + (B, 1, K, h) -> (B, Q, K, h).
    const features = q.unsqueeze(2).add(k.unsqueeze(1)).tanh();
    const scores = this.w_v.forward(features).squeeze(-1) as Tensor<'float32', 3>;
    const attentionWeights = maskedSoftmax(scores, validLens);
    return { output: F.dropout(attentionWeights, this.dropout).matmul(values), attentionWeights };
  }
}
