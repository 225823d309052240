import { arange, Module, nn, type Tensor } from '@tessera/graph-dsl';
import { DecoderBlock, type KVCache } from './decoder-block.ts';
import { DEFAULT_MAX_LEN, PositionalEncoding } from './positional-encoding.ts';
import type { StackSizes } from './transformer-encoder.ts';

export interface TransformerDecoderResult {
  /** (B, T, vocab) */
  readonly logits: Tensor<'float32', 3>;
  readonly selfAttentionWeights: readonly Tensor<'float32', 3>[];
  readonly crossAttentionWeights: readonly Tensor<'float32', 3>[];
}

/** The decoder: embedding times sqrt(d) plus positional encoding, the decoder blocks, and the output Linear(d, vocab). */
export class TransformerDecoder extends Module {
  readonly embedding: nn.Embedding;
  readonly pos_encoding: PositionalEncoding;
  readonly blks: DecoderBlock[];
  readonly dense: nn.Linear;
  constructor(readonly sizes: StackSizes) {
    super();
    this.embedding = new nn.Embedding(sizes.vocabSize, sizes.numHiddens);
    this.pos_encoding = new PositionalEncoding(sizes.numHiddens, sizes.dropout, sizes.maxLen ?? DEFAULT_MAX_LEN);
    this.blks = Array.from({ length: sizes.numLayers }, () => new DecoderBlock(sizes));
    this.dense = new nn.Linear(sizes.numHiddens, sizes.vocabSize);
  }

  /** Teacher forcing: the whole target input X (B, T) (shifted right behind <bos>), causally masked. */
  forward(X: Tensor<'int32', 2>, encOutputs: Tensor<'float32', 3>, encValidLens?: Tensor<'int32', 1>): TransformerDecoderResult {
    const [B, T] = [X.size(0), X.size(1)];
    // Query t sees keys 0..t: valid lengths 1..T for every row (d2l's dec_valid_lens).
    const causalLens = (arange(X, typeof T === 'number' ? T + 1 : `${T}+1`, { start: 1 }) as Tensor<'int32', 1>).unsqueeze(0).expand([B, T]);
    let H = this.embed(X);
    const selfAttentionWeights: Tensor<'float32', 3>[] = [];
    const crossAttentionWeights: Tensor<'float32', 3>[] = [];
    for (const blk of this.blks) {
      const r = blk.forward(H, encOutputs, encValidLens, causalLens);
      H = r.output;
      selfAttentionWeights.push(r.selfAttentionWeights);
      crossAttentionWeights.push(r.crossAttentionWeights);
    }
    return { logits: this.dense.forward(H), selfAttentionWeights, crossAttentionWeights };
  }

  /**
   * One decoding step with an explicit cache: `token` (B, 1) at `position` (1,), and per block
   * the keys/values of the tokens before it. Returns the logits (B, 1, vocab) and the grown caches.
   */
  step(token: Tensor<'int32', 2>, position: Tensor<'int32', 1>, encOutputs: Tensor<'float32', 3>, encValidLens: Tensor<'int32', 1> | undefined, caches: readonly KVCache[]): TransformerDecoderResult & { readonly caches: readonly KVCache[] } {
    let H = this.pos_encoding.forwardAt(this.embedding.forward(token).mul(Math.sqrt(this.sizes.numHiddens)) as Tensor<'float32', 3>, position);
    const out: KVCache[] = [];
    const selfAttentionWeights: Tensor<'float32', 3>[] = [];
    const crossAttentionWeights: Tensor<'float32', 3>[] = [];
    this.blks.forEach((blk, i) => {
      const r = blk.step(H, caches[i]!, encOutputs, encValidLens);
      H = r.output;
      out.push(r.cache);
      selfAttentionWeights.push(r.selfAttentionWeights);
      crossAttentionWeights.push(r.crossAttentionWeights);
    });
    return { logits: this.dense.forward(H), caches: out, selfAttentionWeights, crossAttentionWeights };
  }

  private embed(X: Tensor<'int32', 2>): Tensor<'float32', 3> {
    return this.pos_encoding.forward(this.embedding.forward(X).mul(Math.sqrt(this.sizes.numHiddens)) as Tensor<'float32', 3>);
  }
}
