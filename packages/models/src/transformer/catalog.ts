import { type InputSpec, Module, type Tensor } from '@tessera/graph-dsl';
import { type Config, ConfigError } from '../config.ts';
import { Adapter, type BuiltModel, type CatalogEntry, dim, f32, i32, num, type ValueRange } from '../entry.ts';
import type { KVCache } from './decoder-block.ts';
import { EncoderDecoder, type TransformerSizes } from './encoder-decoder.ts';
import { maskedSoftmaxCELoss } from './masked-ce-loss.ts';
import { squareSubsequentMask, TorchTransformer } from './torch-transformer.ts';

/** The d2l-form Transformer's config: torch.nn.Transformer's argument names plus the vocabularies. */
export const TRANSFORMER_DEFAULTS = {
  src_vocab: 32, tgt_vocab: 32, d_model: 32, nhead: 4, num_encoder_layers: 2, num_decoder_layers: 2, dim_feedforward: 64, dropout: 0.1, max_len: 1000,
  batch: 'B', src_len: 'S', tgt_len: 'T',
} as const satisfies Config;

/** The sizes of the d2l-form model from its config; equal encoder and decoder depths are not required. */
export function transformerSizes(c: Config): TransformerSizes & { readonly numDecoderLayers: number } {
  const [d, h] = [num(c, 'd_model'), num(c, 'nhead')];
  if (d % h !== 0) throw new ConfigError(`transformer: d_model (${d}) must be divisible by nhead (${h})`);
  if (d % 2 !== 0) throw new ConfigError(`transformer: d_model (${d}) must be even for the sinusoidal positional encoding`);
  return {
    srcVocabSize: num(c, 'src_vocab'), tgtVocabSize: num(c, 'tgt_vocab'), numHiddens: d, numHeads: h, ffnNumHiddens: num(c, 'dim_feedforward'),
    numLayers: num(c, 'num_encoder_layers'), numDecoderLayers: num(c, 'num_decoder_layers'), dropout: num(c, 'dropout'), maxLen: num(c, 'max_len'),
  };
}

/**
 * What the integer inputs may hold (checked on the data before a run, `checkInputValues`): token
 * ids of their vocabulary, valid lengths from 1 to their sequence's length, a decoding position
 * inside the positional encoding.
 */
function inputRanges(c: Config): Record<string, ValueRange> {
  const ids = (key: 'src_vocab' | 'tgt_vocab', side: string): ValueRange => ({ min: 0, max: num(c, key) - 1, what: `a token id of the ${side} vocabulary (${key} ${num(c, key)})` });
  const lengths = (key: 'src_len' | 'tgt_len'): ValueRange => ({ min: 1, max: dim(c, key), what: "a valid length: at least 1 token, at most the sequence's length" });
  const tgt = ids('tgt_vocab', 'target');
  return {
    src: ids('src_vocab', 'source'), src_valid_lens: lengths('src_len'), tgt, labels: tgt, label_valid_lens: lengths('tgt_len'), token: tgt,
    position: { min: 0, max: num(c, 'max_len') - 1, what: `a position of the positional encoding (max_len ${num(c, 'max_len')})` },
  };
}

/** A module that holds only some of the Transformer's parts, so that a graph of one half names only that half's parameters. */
class Part extends Module {
  constructor(fields: Record<string, Module>) {
    super();
    Object.assign(this, fields);
  }
}

/** The d2l-form encoder-decoder (the article's model), built from its config. */
export function buildEncoderDecoder(c: Config): EncoderDecoder {
  return new EncoderDecoder(transformerSizes(c));
}

/** Names of the cache inputs and outputs of the one-step decoder, block by block. */
export const cacheNames = (layers: number) => Array.from({ length: layers }, (_, i) => ({ k: `cache_k_${i}`, v: `cache_v_${i}`, newK: `new_cache_k_${i}`, newV: `new_cache_v_${i}` }));

/** The graphs the d2l-form model is used through: full teacher-forced forward, training loss, encoder, one decoder step. */
export function transformerGraphs(c: Config, model = buildEncoderDecoder(c)) {
  const [B, S, T] = [dim(c, 'batch'), dim(c, 'src_len'), dim(c, 'tgt_len')];
  const d = num(c, 'd_model');
  const layers = model.decoder.blks.length;
  const names = cacheNames(layers);
  const ranges = inputRanges(c);
  const train: BuiltModel = {
    module: new Adapter(model, (src, srcLens, tgt, labels, labelLens) => {
      const r = model.forward(src as Tensor<'int32', 2>, srcLens as Tensor<'int32', 1>, tgt as Tensor<'int32', 2>);
      return { loss: maskedSoftmaxCELoss(r.logits, labels as Tensor<'int32', 2>, labelLens as Tensor<'int32', 1>, num(c, 'label_smoothing') || 0) };
    }, ranges),
    inputs: { src: i32(B, S), src_valid_lens: i32(B), tgt: i32(B, T), labels: i32(B, T), label_valid_lens: i32(B) },
    outputs: ['loss'],
  };
  const encoderPart = new Part({ encoder: model.encoder });
  const encoder: BuiltModel = {
    module: new Adapter(encoderPart, (src, srcLens) => {
      const r = model.encoder.forward(src as Tensor<'int32', 2>, srcLens as Tensor<'int32', 1>);
      return { enc_outputs: r.output, ...Object.fromEntries(r.attentionWeights.map((w, i) => [`enc_attention_${i}`, w])) };
    }, ranges),
    inputs: { src: i32(B, S), src_valid_lens: i32(B) },
    outputs: ['enc_outputs', ...model.encoder.blks.map((_, i) => `enc_attention_${i}`)],
  };
  const decoderPart = new Part({ decoder: model.decoder });
  const cacheInputs: Record<string, InputSpec> = Object.fromEntries(names.flatMap((n) => [[n.k, f32(B, 'P', d)], [n.v, f32(B, 'P', d)]]));
  const decoderStep: BuiltModel = {
    module: new Adapter(decoderPart, (token, position, enc, srcLens, ...cache) => {
      const caches: KVCache[] = names.map((_, i) => ({ keys: cache[2 * i] as Tensor<'float32', 3>, values: cache[2 * i + 1] as Tensor<'float32', 3> }));
      const r = model.decoder.step(token as Tensor<'int32', 2>, position as Tensor<'int32', 1>, enc as Tensor<'float32', 3>, srcLens as Tensor<'int32', 1>, caches);
      return {
        logits: r.logits,
        ...Object.fromEntries(r.caches.flatMap((kv, i) => [[names[i]!.newK, kv.keys], [names[i]!.newV, kv.values]])),
        ...Object.fromEntries(r.crossAttentionWeights.map((w, i) => [`cross_attention_${i}`, w])),
      };
    }, ranges),
    inputs: { token: i32(B, 1), position: i32(1), enc_outputs: f32(B, S, d), src_valid_lens: i32(B), ...cacheInputs },
    outputs: ['logits', ...names.flatMap((n) => [n.newK, n.newV]), ...names.map((_, i) => `cross_attention_${i}`)],
  };
  return { model, train, encoder, decoderStep };
}

/** Small sizes for the catalog-wide ONNX test: one encoder and two decoder layers, so the decoder's per-layer cache is exercised. */
const TORCH_SMALL = { d_model: 16, nhead: 2, num_encoder_layers: 1, num_decoder_layers: 2, dim_feedforward: 32 };
const TRANSFORMER_SMALL = { src_vocab: 12, tgt_vocab: 12, ...TORCH_SMALL };

const TORCH_DEFAULTS = {
  d_model: 32, nhead: 4, num_encoder_layers: 2, num_decoder_layers: 2, dim_feedforward: 64, dropout: 0.1, batch_first: true,
  src_key_padding_mask: true, tgt_mask: 'causal', memory_key_padding_mask: true, batch: 'B', src_len: 'S', tgt_len: 'T',
} as const satisfies Config;

/** The Transformer chapter (article section 2). */
export const TRANSFORMER_MODELS: readonly CatalogEntry[] = [
  {
    name: 'transformer',
    description: "the article's Transformer (d2l form): embeddings x sqrt(d) + sinusoidal positions, post-norm encoder and decoder blocks with valid lengths, output Linear; returns the attention weights of every block",
    reference: 'd2l TransformerEncoder/TransformerDecoder, re-implemented in PyTorch in fixtures/generate.py',
    defaults: TRANSFORMER_DEFAULTS,
    small: TRANSFORMER_SMALL,
    choices: {},
    build: (c) => {
      const model = buildEncoderDecoder(c);
      const [B, S, T] = [dim(c, 'batch'), dim(c, 'src_len'), dim(c, 'tgt_len')];
      const weightNames = [
        ...model.encoder.blks.map((_, i) => `enc_attention_${i}`),
        ...model.decoder.blks.flatMap((_, i) => [`dec_self_attention_${i}`, `dec_cross_attention_${i}`]),
      ];
      return {
        module: new Adapter(model, (src, srcLens, tgt) => {
          const r = model.forward(src as Tensor<'int32', 2>, srcLens as Tensor<'int32', 1>, tgt as Tensor<'int32', 2>);
          return {
            logits: r.logits,
            ...Object.fromEntries(r.encoderAttentionWeights.map((w, i) => [`enc_attention_${i}`, w])),
            ...Object.fromEntries(r.selfAttentionWeights.flatMap((w, i) => [[`dec_self_attention_${i}`, w], [`dec_cross_attention_${i}`, r.crossAttentionWeights[i]!]])),
          };
        }, inputRanges(c)),
        inputs: { src: i32(B, S), src_valid_lens: i32(B), tgt: i32(B, T) },
        outputs: ['logits', ...weightNames],
      };
    },
  },
  {
    name: 'transformer_encoder',
    description: 'the encoder half of the d2l-form Transformer (for export: encode once, then decode step by step)',
    reference: 'd2l TransformerEncoder',
    defaults: TRANSFORMER_DEFAULTS,
    small: TRANSFORMER_SMALL,
    choices: {},
    build: (c) => transformerGraphs(c).encoder,
  },
  {
    name: 'transformer_decoder_step',
    description: 'one decoding step of the d2l-form Transformer with an explicit key/value cache per block (cache_k_i, cache_v_i in; new_cache_k_i, new_cache_v_i out)',
    reference: 'd2l TransformerDecoder at prediction time',
    defaults: TRANSFORMER_DEFAULTS,
    small: TRANSFORMER_SMALL,
    choices: {},
    build: (c) => transformerGraphs(c).decoderStep,
  },
  {
    name: 'torch_transformer',
    description: 'torch.nn.Transformer (post-norm, ReLU): loads its state_dict as is; src_key_padding_mask, tgt_mask (causal from generate_square_subsequent_mask, or given), memory_key_padding_mask',
    reference: 'torch.nn.Transformer',
    defaults: TORCH_DEFAULTS,
    small: TORCH_SMALL,
    choices: { tgt_mask: ['none', 'causal', 'float', 'bool'] },
    build: (c) => {
      const o = {
        d_model: num(c, 'd_model'), nhead: num(c, 'nhead'), num_encoder_layers: num(c, 'num_encoder_layers'), num_decoder_layers: num(c, 'num_decoder_layers'),
        dim_feedforward: num(c, 'dim_feedforward'), dropout: num(c, 'dropout'), batch_first: c.batch_first as boolean,
      };
      const model = new TorchTransformer(o);
      const [B, S, T] = [dim(c, 'batch'), dim(c, 'src_len'), dim(c, 'tgt_len')];
      const seq = (n: string | number) => (o.batch_first ? f32(B, n, o.d_model) : f32(n, B, o.d_model));
      const inputs: Record<string, InputSpec> = { src: seq(S), tgt: seq(T) };
      if (c.src_key_padding_mask) inputs.src_key_padding_mask = { dtype: 'bool', shape: [B, S] };
      if (c.tgt_mask === 'float' || c.tgt_mask === 'bool') inputs.tgt_mask = { dtype: c.tgt_mask === 'bool' ? 'bool' : 'float32', shape: [T, T] };
      if (c.memory_key_padding_mask) inputs.memory_key_padding_mask = { dtype: 'bool', shape: [B, S] };
      const names = Object.keys(inputs);
      const module = new Adapter(model, (...xs) => {
        const x = Object.fromEntries(names.map((n, i) => [n, xs[i]!])) as Record<string, Tensor>;
        const tgt = x.tgt as Tensor<'float32', 3>;
        const tgtMask = c.tgt_mask === 'causal' ? squareSubsequentMask(tgt, tgt.size(o.batch_first ? 1 : 0) as number | string) : (x.tgt_mask as Tensor<'bool' | 'float32', 2> | undefined);
        return [model.forward(x.src as Tensor<'float32', 3>, tgt, {
          ...(tgtMask ? { tgtMask } : {}),
          ...(x.src_key_padding_mask ? { srcKeyPaddingMask: x.src_key_padding_mask as Tensor<'bool', 2> } : {}),
          ...(x.memory_key_padding_mask ? { memoryKeyPaddingMask: x.memory_key_padding_mask as Tensor<'bool', 2> } : {}),
        })];
      });
      return { module, inputs, outputs: ['output'] };
    },
  },
];
