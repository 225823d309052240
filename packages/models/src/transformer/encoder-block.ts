import { Module, type Tensor } from '@tessera/graph-dsl';
import { MultiHeadAttention } from '../attention/multihead-attention.ts';
import { AddNorm } from './add-norm.ts';
import { PositionWiseFFN } from './position-wise-ffn.ts';

/** Sizes shared by the blocks of one Transformer (d2l's argument names in camelCase). */
export interface BlockSizes {
  readonly numHiddens: number;
  readonly ffnNumHiddens: number;
  readonly numHeads: number;
  readonly dropout: number;
  /** Biases in the attention projections (d2l: false). */
  readonly useBias?: boolean;
}

export interface EncoderBlockResult {
  readonly output: Tensor<'float32', 3>;
  /** (B*heads, S, S) */
  readonly attentionWeights: Tensor<'float32', 3>;
}

/** One encoder block: self-attention with the source valid lengths, AddNorm, FFN, AddNorm. */
export class EncoderBlock extends Module {
  readonly attention: MultiHeadAttention;
  readonly addnorm1: AddNorm;
  readonly ffn: PositionWiseFFN;
  readonly addnorm2: AddNorm;
  constructor(s: BlockSizes) {
    super();
    const d = s.numHiddens;
    this.attention = new MultiHeadAttention(d, d, d, d, s.numHeads, s.dropout, s.useBias ?? false);
    this.addnorm1 = new AddNorm(d, s.dropout);
    this.ffn = new PositionWiseFFN(d, s.ffnNumHiddens, d);
    this.addnorm2 = new AddNorm(d, s.dropout);
  }
  forward(X: Tensor<'float32', 3>, validLens?: Tensor<'int32', 1>): EncoderBlockResult {
    const { output: attended, attentionWeights } = this.attention.forward(X, X, X, validLens);
    const Y = this.addnorm1.forward(X, attended);
    return { output: this.addnorm2.forward(Y, this.ffn.forward(Y)), attentionWeights };
  }
}
