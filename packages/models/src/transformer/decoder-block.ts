import { cat, Module, type Tensor } from '@tessera/graph-dsl';
import { MultiHeadAttention } from '../attention/multihead-attention.ts';
import { AddNorm } from './add-norm.ts';
import type { BlockSizes } from './encoder-block.ts';
import { PositionWiseFFN } from './position-wise-ffn.ts';

/** What one decoder block keeps between decoding steps: its self-attention keys and values, projected, (B, t, d). */
export interface KVCache {
  readonly keys: Tensor<'float32', 3>;
  readonly values: Tensor<'float32', 3>;
}

export interface DecoderBlockResult {
  readonly output: Tensor<'float32', 3>;
  /** Masked self-attention weights, (B*heads, T, T) (one query per step: (B*heads, 1, t+1)). */
  readonly selfAttentionWeights: Tensor<'float32', 3>;
  /** Encoder-decoder attention weights, (B*heads, T, S). */
  readonly crossAttentionWeights: Tensor<'float32', 3>;
}

/**
 * One decoder block: masked (causal) self-attention, AddNorm; encoder-decoder attention over the
 * encoder outputs with the source valid lengths, AddNorm; FFN, AddNorm.
 */
export class DecoderBlock extends Module {
  readonly attention1: MultiHeadAttention;
  readonly addnorm1: AddNorm;
  readonly attention2: MultiHeadAttention;
  readonly addnorm2: AddNorm;
  readonly ffn: PositionWiseFFN;
  readonly addnorm3: AddNorm;
  constructor(s: BlockSizes) {
    super();
    const d = s.numHiddens;
    this.attention1 = new MultiHeadAttention(d, d, d, d, s.numHeads, s.dropout, s.useBias ?? false);
    this.addnorm1 = new AddNorm(d, s.dropout);
    this.attention2 = new MultiHeadAttention(d, d, d, d, s.numHeads, s.dropout, s.useBias ?? false);
    this.addnorm2 = new AddNorm(d, s.dropout);
    this.ffn = new PositionWiseFFN(d, s.ffnNumHiddens, d);
    this.addnorm3 = new AddNorm(d, s.dropout);
  }

  /**
   * The whole target sequence at once (teacher forcing): `causalLens` (B, T) lets query t see
   * keys 0..t (d2l's dec_valid_lens = 1..T).
   */
  forward(X: Tensor<'float32', 3>, encOutputs: Tensor<'float32', 3>, encValidLens: Tensor<'int32', 1> | undefined, causalLens: Tensor<'int32', 2>): DecoderBlockResult {
    const self = this.attention1.forward(X, X, X, causalLens);
    return this.rest(X, self.output, self.attentionWeights, encOutputs, encValidLens);
  }

  /**
   * One decoding step: X (B, 1, d) is the newest token. Its key and value are projected once and
   * appended to the cache, so the prefix is never recomputed; the query attends to all of them
   * (no mask needed: nothing later exists yet).
   */
  step(X: Tensor<'float32', 3>, cache: KVCache, encOutputs: Tensor<'float32', 3>, encValidLens?: Tensor<'int32', 1>): DecoderBlockResult & { readonly cache: KVCache } {
    const keys = cat([cache.keys, this.attention1.W_k.forward(X)], 1);
    const values = cat([cache.values, this.attention1.W_v.forward(X)], 1);
    const self = this.attention1.attend(this.attention1.W_q.forward(X), keys, values);
    return { ...this.rest(X, self.output, self.attentionWeights, encOutputs, encValidLens), cache: { keys, values } };
  }

  private rest(X: Tensor<'float32', 3>, attended: Tensor<'float32', 3>, selfWeights: Tensor<'float32', 3>, encOutputs: Tensor<'float32', 3>, encValidLens?: Tensor<'int32', 1>): DecoderBlockResult {
    const Y = this.addnorm1.forward(X, attended);
    const cross = this.attention2.forward(Y, encOutputs, encOutputs, encValidLens);
    const Z = this.addnorm2.forward(Y, cross.output);
    return { output: this.addnorm3.forward(Z, this.ffn.forward(Z)), selfAttentionWeights: selfWeights, crossAttentionWeights: cross.attentionWeights };
  }
}
