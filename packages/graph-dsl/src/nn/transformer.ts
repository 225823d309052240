/**
 * `nn.TransformerEncoderLayer` and `nn.TransformerDecoderLayer` as torch 1.13 writes them, with
 * its argument names, defaults and `state_dict` keys (`self_attn.*`, `multihead_attn.*`,
 * `linear1`, `linear2`, `norm1`..`norm3`), post-norm or `norm_first`.
 */
import { ConfigError } from '../errors.ts';
import { Module } from '../module.ts';
import type { Tensor } from '../tensor.ts';
import { GELU, ReLU } from './activation.ts';
import { Dropout, LayerNorm, Linear } from './layers.ts';
import { MultiheadAttention } from './multihead-attention.ts';

/** torch's keyword arguments after `d_model, nhead`, with its defaults. */
export interface TransformerLayerOptions {
  /** 2048 */
  readonly dim_feedforward?: number;
  /** 0.1: after the attention, inside and after the feed-forward block, and on the attention probabilities */
  readonly dropout?: number;
  /** 'relu' */
  readonly activation?: 'relu' | 'gelu';
  /** 1e-5 */
  readonly layer_norm_eps?: number;
  /** false: inputs are (seq, B, d_model); true: (B, seq, d_model) */
  readonly batch_first?: boolean;
  /** false: x = norm(x + block(x)); true: x = x + block(norm(x)) */
  readonly norm_first?: boolean;
}

/** An attention mask as `nn.MultiheadAttention` takes it: (L, S) or (B*nhead, L, S); bool true = not allowed, a float mask is added. */
export type AttnMask = Tensor<'bool' | 'float32', 2> | Tensor<'bool' | 'float32', 3>;
/** (B, S): true (or -inf) = ignore this key. */
export type KeyPaddingMask = Tensor<'bool' | 'float32', 2>;

/** The masks of `TransformerEncoderLayer.forward(src, src_mask, src_key_padding_mask)`. */
export interface TransformerEncoderLayerCall {
  readonly srcMask?: AttnMask;
  readonly srcKeyPaddingMask?: KeyPaddingMask;
}

/** The masks of `TransformerDecoderLayer.forward(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask)`. */
export interface TransformerDecoderLayerCall {
  readonly tgtMask?: AttnMask;
  readonly memoryMask?: AttnMask;
  readonly tgtKeyPaddingMask?: KeyPaddingMask;
  readonly memoryKeyPaddingMask?: KeyPaddingMask;
}

type Seq = Tensor<'float32', 3>;

function resolve(kind: string, o: TransformerLayerOptions) {
  const activation = o.activation ?? 'relu';
  // torch's message, for callers without the type
  if (activation !== 'relu' && activation !== 'gelu') throw new ConfigError(`${kind}: activation should be relu/gelu, not ${String(activation)}`);
  return {
    dimFeedforward: o.dim_feedforward ?? 2048, dropout: o.dropout ?? 0.1, eps: o.layer_norm_eps ?? 1e-5, normFirst: o.norm_first ?? false,
    activation: activation === 'gelu' ? new GELU() : new ReLU(),
    attention: { dropout: o.dropout ?? 0.1, batch_first: o.batch_first ?? false },
  };
}

/** The members both layers share under torch's names, and its two blocks. */
interface FeedForward {
  readonly linear1: Linear;
  readonly dropout: Dropout;
  readonly linear2: Linear;
  readonly activation: ReLU | GELU;
}

/** torch's `_ff_block` without its last dropout: linear2(dropout(activation(linear1(x)))). */
function feedForward(l: FeedForward, x: Seq): Seq {
  return l.linear2.forward(l.dropout.forward(l.activation.forward(l.linear1.forward(x))));
}

/** torch's `_sa_block` / `_mha_block` without the dropout: the attention output only. */
function attend(attention: MultiheadAttention, x: Seq, memory: Seq, attnMask: AttnMask | undefined, keyPaddingMask: KeyPaddingMask | undefined): Seq {
  return attention.forward(x, memory, memory, { ...(attnMask ? { attnMask } : {}), ...(keyPaddingMask ? { keyPaddingMask } : {}), needWeights: false }).output;
}

/** One residual sub-layer: norm(x + block(x)) (post-norm, the paper's), or x + block(norm(x)) (norm_first). */
function residual(x: Seq, norm: LayerNorm, normFirst: boolean, block: (y: Seq) => Seq): Seq {
  return normFirst ? x.add(block(norm.forward(x))) : norm.forward(x.add(block(x)));
}

/** `nn.TransformerEncoderLayer(d_model, nhead, ...)`: self-attention, then the feed-forward block, each with a residual and a LayerNorm. */
export class TransformerEncoderLayer extends Module implements FeedForward {
  readonly self_attn: MultiheadAttention;
  readonly linear1: Linear;
  readonly dropout: Dropout;
  readonly linear2: Linear;
  readonly norm_first: boolean;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  readonly dropout1: Dropout;
  readonly dropout2: Dropout;
  readonly activation: ReLU | GELU;
  constructor(readonly d_model: number, readonly nhead: number, options: TransformerLayerOptions = {}) {
    super();
    const o = resolve('TransformerEncoderLayer', options);
    this.self_attn = new MultiheadAttention(d_model, nhead, o.attention);
    this.linear1 = new Linear(d_model, o.dimFeedforward);
    this.dropout = new Dropout(o.dropout);
    this.linear2 = new Linear(o.dimFeedforward, d_model);
    this.norm_first = o.normFirst;
    this.norm1 = new LayerNorm(d_model, o.eps);
    this.norm2 = new LayerNorm(d_model, o.eps);
    this.dropout1 = new Dropout(o.dropout);
    this.dropout2 = new Dropout(o.dropout);
    this.activation = o.activation;
  }
  forward(src: Seq, call: TransformerEncoderLayerCall = {}): Seq {
    const x = residual(src, this.norm1, this.norm_first, (y) => this.dropout1.forward(attend(this.self_attn, y, y, call.srcMask, call.srcKeyPaddingMask)));
    return residual(x, this.norm2, this.norm_first, (y) => this.dropout2.forward(feedForward(this, y)));
  }
}

/** `nn.TransformerDecoderLayer(d_model, nhead, ...)`: self-attention, attention over the encoder's memory, the feed-forward block, each with a residual and a LayerNorm. */
export class TransformerDecoderLayer extends Module implements FeedForward {
  readonly self_attn: MultiheadAttention;
  readonly multihead_attn: MultiheadAttention;
  readonly linear1: Linear;
  readonly dropout: Dropout;
  readonly linear2: Linear;
  readonly norm_first: boolean;
  readonly norm1: LayerNorm;
  readonly norm2: LayerNorm;
  readonly norm3: LayerNorm;
  readonly dropout1: Dropout;
  readonly dropout2: Dropout;
  readonly dropout3: Dropout;
  readonly activation: ReLU | GELU;
  constructor(readonly d_model: number, readonly nhead: number, options: TransformerLayerOptions = {}) {
    super();
    const o = resolve('TransformerDecoderLayer', options);
    this.self_attn = new MultiheadAttention(d_model, nhead, o.attention);
    this.multihead_attn = new MultiheadAttention(d_model, nhead, o.attention);
    this.linear1 = new Linear(d_model, o.dimFeedforward);
    this.dropout = new Dropout(o.dropout);
    this.linear2 = new Linear(o.dimFeedforward, d_model);
    this.norm_first = o.normFirst;
    this.norm1 = new LayerNorm(d_model, o.eps);
    this.norm2 = new LayerNorm(d_model, o.eps);
    this.norm3 = new LayerNorm(d_model, o.eps);
    this.dropout1 = new Dropout(o.dropout);
    this.dropout2 = new Dropout(o.dropout);
    this.dropout3 = new Dropout(o.dropout);
    this.activation = o.activation;
  }
  forward(tgt: Seq, memory: Seq, call: TransformerDecoderLayerCall = {}): Seq {
    let x = residual(tgt, this.norm1, this.norm_first, (y) => this.dropout1.forward(attend(this.self_attn, y, y, call.tgtMask, call.tgtKeyPaddingMask)));
    x = residual(x, this.norm2, this.norm_first, (y) => this.dropout2.forward(attend(this.multihead_attn, y, memory, call.memoryMask, call.memoryKeyPaddingMask)));
    return residual(x, this.norm3, this.norm_first, (y) => this.dropout3.forward(feedForward(this, y)));
  }
}
