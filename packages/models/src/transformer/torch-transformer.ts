import { arange, Module, nn, type Tensor, where } from '@tessera/graph-dsl';
import { ConfigError } from '../config.ts';
import { MultiheadAttention } from '../attention/torch-multihead-attention.ts';

/** torch.nn.Transformer's constructor arguments (post-norm, ReLU, batch_first). */
export interface TorchTransformerOptions {
  readonly d_model: number;
  readonly nhead: number;
  readonly num_encoder_layers: number;
  readonly num_decoder_layers: number;
  readonly dim_feedforward: number;
  readonly dropout: number;
  readonly batch_first: boolean;
}

type Mask = Tensor<'bool' | 'float32', 2>;

/** `nn.TransformerEncoderLayer` (norm_first=False, ReLU): x = norm1(x + SA(x)); x = norm2(x + FF(x)). */
export class TorchEncoderLayer extends Module {
  readonly self_attn: MultiheadAttention;
  readonly linear1: nn.Linear;
  readonly dropout: nn.Dropout;
  readonly linear2: nn.Linear;
  readonly norm1: nn.LayerNorm;
  readonly norm2: nn.LayerNorm;
  readonly dropout1: nn.Dropout;
  readonly dropout2: nn.Dropout;
  constructor(o: TorchTransformerOptions) {
    super();
    this.self_attn = new MultiheadAttention(o.d_model, o.nhead, { dropout: o.dropout, batch_first: true });
    this.linear1 = new nn.Linear(o.d_model, o.dim_feedforward);
    this.dropout = new nn.Dropout(o.dropout);
    this.linear2 = new nn.Linear(o.dim_feedforward, o.d_model);
    this.norm1 = new nn.LayerNorm(o.d_model);
    this.norm2 = new nn.LayerNorm(o.d_model);
    this.dropout1 = new nn.Dropout(o.dropout);
    this.dropout2 = new nn.Dropout(o.dropout);
  }
  forward(x: Tensor<'float32', 3>, srcMask?: Mask, srcKeyPaddingMask?: Tensor<'bool', 2>): Tensor<'float32', 3> {
    const sa = this.self_attn.forward(x, x, x, { ...(srcMask ? { attnMask: srcMask } : {}), ...(srcKeyPaddingMask ? { keyPaddingMask: srcKeyPaddingMask } : {}), needWeights: false }).output;
    x = this.norm1.forward(x.add(this.dropout1.forward(sa)) as Tensor<'float32', 3>);
    const ff = this.linear2.forward(this.dropout.forward(this.linear1.forward(x).relu()));
    return this.norm2.forward(x.add(this.dropout2.forward(ff)) as Tensor<'float32', 3>);
  }
}

/** `nn.TransformerDecoderLayer` (norm_first=False, ReLU): self-attention, cross-attention over memory, FF, each + residual and norm. */
export class TorchDecoderLayer extends Module {
  readonly self_attn: MultiheadAttention;
  readonly multihead_attn: MultiheadAttention;
  readonly linear1: nn.Linear;
  readonly dropout: nn.Dropout;
  readonly linear2: nn.Linear;
  readonly norm1: nn.LayerNorm;
  readonly norm2: nn.LayerNorm;
  readonly norm3: nn.LayerNorm;
  readonly dropout1: nn.Dropout;
  readonly dropout2: nn.Dropout;
  readonly dropout3: nn.Dropout;
  constructor(o: TorchTransformerOptions) {
    super();
    this.self_attn = new MultiheadAttention(o.d_model, o.nhead, { dropout: o.dropout, batch_first: true });
    this.multihead_attn = new MultiheadAttention(o.d_model, o.nhead, { dropout: o.dropout, batch_first: true });
    this.linear1 = new nn.Linear(o.d_model, o.dim_feedforward);
    this.dropout = new nn.Dropout(o.dropout);
    this.linear2 = new nn.Linear(o.dim_feedforward, o.d_model);
    this.norm1 = new nn.LayerNorm(o.d_model);
    this.norm2 = new nn.LayerNorm(o.d_model);
    this.norm3 = new nn.LayerNorm(o.d_model);
    this.dropout1 = new nn.Dropout(o.dropout);
    this.dropout2 = new nn.Dropout(o.dropout);
    this.dropout3 = new nn.Dropout(o.dropout);
  }
  forward(x: Tensor<'float32', 3>, memory: Tensor<'float32', 3>, m: TransformerMasks): Tensor<'float32', 3> {
    const sa = this.self_attn.forward(x, x, x, { ...(m.tgtMask ? { attnMask: m.tgtMask } : {}), ...(m.tgtKeyPaddingMask ? { keyPaddingMask: m.tgtKeyPaddingMask } : {}), needWeights: false }).output;
    x = this.norm1.forward(x.add(this.dropout1.forward(sa)) as Tensor<'float32', 3>);
    const ca = this.multihead_attn.forward(x, memory, memory, { ...(m.memoryMask ? { attnMask: m.memoryMask } : {}), ...(m.memoryKeyPaddingMask ? { keyPaddingMask: m.memoryKeyPaddingMask } : {}), needWeights: false }).output;
    x = this.norm2.forward(x.add(this.dropout2.forward(ca)) as Tensor<'float32', 3>);
    const ff = this.linear2.forward(this.dropout.forward(this.linear1.forward(x).relu()));
    return this.norm3.forward(x.add(this.dropout3.forward(ff)) as Tensor<'float32', 3>);
  }
}

/** The masks of `nn.Transformer.forward`, with its names: bool true = not allowed; a float mask is added. */
export interface TransformerMasks {
  readonly srcMask?: Mask;
  readonly tgtMask?: Mask;
  readonly memoryMask?: Mask;
  readonly srcKeyPaddingMask?: Tensor<'bool', 2>;
  readonly tgtKeyPaddingMask?: Tensor<'bool', 2>;
  readonly memoryKeyPaddingMask?: Tensor<'bool', 2>;
}

export class TorchTransformerEncoder extends Module {
  readonly layers: TorchEncoderLayer[];
  readonly norm: nn.LayerNorm;
  constructor(o: TorchTransformerOptions) {
    super();
    this.layers = Array.from({ length: o.num_encoder_layers }, () => new TorchEncoderLayer(o));
    this.norm = new nn.LayerNorm(o.d_model);
  }
  forward(src: Tensor<'float32', 3>, mask?: Mask, srcKeyPaddingMask?: Tensor<'bool', 2>): Tensor<'float32', 3> {
    return this.norm.forward(this.layers.reduce((x, layer) => layer.forward(x, mask, srcKeyPaddingMask), src));
  }
}

export class TorchTransformerDecoder extends Module {
  readonly layers: TorchDecoderLayer[];
  readonly norm: nn.LayerNorm;
  constructor(o: TorchTransformerOptions) {
    super();
    this.layers = Array.from({ length: o.num_decoder_layers }, () => new TorchDecoderLayer(o));
    this.norm = new nn.LayerNorm(o.d_model);
  }
  forward(tgt: Tensor<'float32', 3>, memory: Tensor<'float32', 3>, masks: TransformerMasks): Tensor<'float32', 3> {
    return this.norm.forward(this.layers.reduce((x, layer) => layer.forward(x, memory, masks), tgt));
  }
}

/**
 * `torch.nn.Transformer(batch_first=True)` (post-norm, ReLU), with its parameter names, so that
 * its `state_dict` loads as is: `encoder.layers.0.self_attn.in_proj_weight`,
 * `encoder.layers.0.linear1.weight`, `encoder.norm.weight`, `decoder.layers.0.multihead_attn...`,
 * `decoder.norm...`. Inputs and output are (B, seq, d_model); batch_first=False transposes.
 */
export class TorchTransformer extends Module {
  readonly encoder: TorchTransformerEncoder;
  readonly decoder: TorchTransformerDecoder;
  constructor(readonly options: TorchTransformerOptions) {
    super();
    if (options.d_model % options.nhead !== 0) throw new ConfigError(`Transformer: d_model (${options.d_model}) must be divisible by nhead (${options.nhead})`);
    this.encoder = new TorchTransformerEncoder(options);
    this.decoder = new TorchTransformerDecoder(options);
  }
  forward(src: Tensor<'float32', 3>, tgt: Tensor<'float32', 3>, masks: TransformerMasks = {}): Tensor<'float32', 3> {
    const [s, t] = this.options.batch_first ? [src, tgt] : [src.transpose(0, 1), tgt.transpose(0, 1)];
    const memory = this.encoder.forward(s, masks.srcMask, masks.srcKeyPaddingMask);
    const out = this.decoder.forward(t, memory, masks);
    return this.options.batch_first ? out : out.transpose(0, 1);
  }
}

/**
 * `nn.Transformer.generate_square_subsequent_mask(T)`: float (T, T), -inf above the diagonal, 0
 * elsewhere. Built from Range ops, so the compiler folds it once T is known.
 */
export function squareSubsequentMask(like: Tensor, T: number | string): Tensor<'float32', 2> {
  const i = arange(like, T) as Tensor<'int32', 1>;
  const future = i.unsqueeze(0).gt(i.unsqueeze(1)); // key j > query i
  return where(future, -Infinity, 0) as Tensor<'float32', 2>;
}
