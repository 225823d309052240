import { Module, type Tensor } from '@tessera/graph-dsl';
import { TransformerDecoder, type TransformerDecoderResult } from './transformer-decoder.ts';
import { TransformerEncoder } from './transformer-encoder.ts';

/** Sizes of the whole Transformer (d2l form). */
export interface TransformerSizes {
  readonly srcVocabSize: number;
  readonly tgtVocabSize: number;
  readonly numHiddens: number;
  readonly ffnNumHiddens: number;
  readonly numHeads: number;
  readonly numLayers: number;
  /** Decoder depth when it differs from the encoder's (torch's num_decoder_layers). */
  readonly numDecoderLayers?: number;
  readonly dropout: number;
  readonly maxLen?: number;
  readonly useBias?: boolean;
}

export interface EncoderDecoderResult extends TransformerDecoderResult {
  readonly encoderAttentionWeights: readonly Tensor<'float32', 3>[];
}

/** The encoder-decoder: the encoder reads the source, the decoder attends to its outputs. */
export class EncoderDecoder extends Module {
  readonly encoder: TransformerEncoder;
  readonly decoder: TransformerDecoder;
  constructor(readonly sizes: TransformerSizes) {
    super();
    const shared = { numHiddens: sizes.numHiddens, ffnNumHiddens: sizes.ffnNumHiddens, numHeads: sizes.numHeads, numLayers: sizes.numLayers, dropout: sizes.dropout, ...(sizes.maxLen ? { maxLen: sizes.maxLen } : {}), ...(sizes.useBias ? { useBias: true } : {}) };
    this.encoder = new TransformerEncoder({ ...shared, vocabSize: sizes.srcVocabSize });
    this.decoder = new TransformerDecoder({ ...shared, numLayers: sizes.numDecoderLayers ?? sizes.numLayers, vocabSize: sizes.tgtVocabSize });
  }
  /** src (B, S) with srcValidLens (B,); tgt (B, T): the target shifted right behind <bos>. */
  forward(src: Tensor<'int32', 2>, srcValidLens: Tensor<'int32', 1> | undefined, tgt: Tensor<'int32', 2>): EncoderDecoderResult {
    const enc = this.encoder.forward(src, srcValidLens);
    return { ...this.decoder.forward(tgt, enc.output, srcValidLens), encoderAttentionWeights: enc.attentionWeights };
  }
}
