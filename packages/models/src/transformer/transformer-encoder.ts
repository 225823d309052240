import { Module, nn, type Tensor } from '@tessera/graph-dsl';
import { type BlockSizes, EncoderBlock } from './encoder-block.ts';
import { DEFAULT_MAX_LEN, PositionalEncoding } from './positional-encoding.ts';

export interface StackSizes extends BlockSizes {
  readonly vocabSize: number;
  readonly numLayers: number;
  /** Rows of the positional-encoding table (the longest sequence). */
  readonly maxLen?: number;
}

export interface TransformerEncoderResult {
  /** (B, S, d) */
  readonly output: Tensor<'float32', 3>;
  /** Self-attention weights of every block, (B*heads, S, S) each. */
  readonly attentionWeights: readonly Tensor<'float32', 3>[];
}

/** The encoder: token embedding times sqrt(d), plus positional encoding, then the encoder blocks. */
export class TransformerEncoder extends Module {
  readonly embedding: nn.Embedding;
  readonly pos_encoding: PositionalEncoding;
  readonly blks: EncoderBlock[];
  constructor(readonly sizes: StackSizes) {
    super();
    this.embedding = new nn.Embedding(sizes.vocabSize, sizes.numHiddens);
    this.pos_encoding = new PositionalEncoding(sizes.numHiddens, sizes.dropout, sizes.maxLen ?? DEFAULT_MAX_LEN);
    this.blks = Array.from({ length: sizes.numLayers }, () => new EncoderBlock(sizes));
  }
  /** X: token ids (B, S); validLens: (B,) source lengths (keys past them are masked). */
  forward(X: Tensor<'int32', 2>, validLens?: Tensor<'int32', 1>): TransformerEncoderResult {
    // The embedding values are scaled up to the size of the positional encoding's (-1..1).
    let H = this.pos_encoding.forward(this.embedding.forward(X).mul(Math.sqrt(this.sizes.numHiddens)) as Tensor<'float32', 3>);
    const attentionWeights: Tensor<'float32', 3>[] = [];
    for (const blk of this.blks) {
      const r = blk.forward(H, validLens);
      H = r.output;
      attentionWeights.push(r.attentionWeights);
    }
    return { output: H, attentionWeights };
  }
}
