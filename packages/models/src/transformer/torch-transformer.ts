import { arange, Module, nn, type Tensor, where } from '@tessera/graph-dsl';
import { ConfigError } from '../config.ts';

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

/** torch's layer arguments from the Transformer's: post-norm and ReLU (its defaults); batch-first inside, as TorchTransformer transposes once. */
const layerOptions = (o: TorchTransformerOptions): nn.TransformerLayerOptions => ({ dim_feedforward: o.dim_feedforward, dropout: o.dropout, batch_first: true });

/** The masks of `nn.Transformer.forward`, with its names: bool true = not allowed; a float mask is added. */
export interface TransformerMasks {
  readonly srcMask?: Mask;
  readonly tgtMask?: Mask;
  readonly memoryMask?: Mask;
  readonly srcKeyPaddingMask?: Tensor<'bool', 2>;
  readonly tgtKeyPaddingMask?: Tensor<'bool', 2>;
  readonly memoryKeyPaddingMask?: Tensor<'bool', 2>;
}

/** `nn.TransformerEncoder`: the layers in turn, then the final LayerNorm. */
export class TorchTransformerEncoder extends Module {
  readonly layers: nn.ModuleList<nn.TransformerEncoderLayer>;
  readonly norm: nn.LayerNorm;
  constructor(o: TorchTransformerOptions) {
    super();
    this.layers = new nn.ModuleList(Array.from({ length: o.num_encoder_layers }, () => new nn.TransformerEncoderLayer(o.d_model, o.nhead, layerOptions(o))));
    this.norm = new nn.LayerNorm(o.d_model);
  }
  forward(src: Tensor<'float32', 3>, mask?: Mask, srcKeyPaddingMask?: Tensor<'bool', 2>): Tensor<'float32', 3> {
    let x = src;
    for (const layer of this.layers) x = layer.forward(x, { srcMask: mask, srcKeyPaddingMask });
    return this.norm.forward(x);
  }
}

/** `nn.TransformerDecoder`: the layers in turn over the memory, then the final LayerNorm. */
export class TorchTransformerDecoder extends Module {
  readonly layers: nn.ModuleList<nn.TransformerDecoderLayer>;
  readonly norm: nn.LayerNorm;
  constructor(o: TorchTransformerOptions) {
    super();
    this.layers = new nn.ModuleList(Array.from({ length: o.num_decoder_layers }, () => new nn.TransformerDecoderLayer(o.d_model, o.nhead, layerOptions(o))));
    this.norm = new nn.LayerNorm(o.d_model);
  }
  forward(tgt: Tensor<'float32', 3>, memory: Tensor<'float32', 3>, masks: TransformerMasks): Tensor<'float32', 3> {
    let x = tgt;
    for (const layer of this.layers) x = layer.forward(x, memory, masks);
    return this.norm.forward(x);
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
