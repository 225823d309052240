/**
 * The Vision Transformer (Dosovitskiy et al., 2020), as torchvision 0.14's `VisionTransformer`,
 * with its `state_dict` names: an image is cut into P x P patches, each patch embedded by one
 * strided convolution; a class token is prepended, a position embedding added, L pre-norm
 * encoder blocks run, and the head reads the class token.
 */
import { cat, type HostTensor, Module, nn, Parameter, type Tensor } from '@tessera/graph-dsl';
import { ConfigError } from '../config.ts';
import type { AdaptsStateDict } from '../state-dict.ts';
import { interpolateEmbeddings } from './interpolate-embeddings.ts';
import { MLPBlock } from './layers.ts';

export interface ViTConfig {
  readonly image_size: number;
  readonly patch_size: number;
  readonly num_layers: number;
  readonly num_heads: number;
  readonly hidden_dim: number;
  readonly mlp_dim: number;
  readonly dropout?: number;
  readonly attention_dropout?: number;
  readonly num_classes?: number;
}

/** torchvision's named sizes (vit_b_16 ... vit_h_14), all at 224x224 and 1000 classes. */
export const VIT_CONFIGS = {
  vit_b_16: { image_size: 224, patch_size: 16, num_layers: 12, num_heads: 12, hidden_dim: 768, mlp_dim: 3072 },
  vit_b_32: { image_size: 224, patch_size: 32, num_layers: 12, num_heads: 12, hidden_dim: 768, mlp_dim: 3072 },
  vit_l_16: { image_size: 224, patch_size: 16, num_layers: 24, num_heads: 16, hidden_dim: 1024, mlp_dim: 4096 },
  vit_l_32: { image_size: 224, patch_size: 32, num_layers: 24, num_heads: 16, hidden_dim: 1024, mlp_dim: 4096 },
  vit_h_14: { image_size: 224, patch_size: 14, num_layers: 32, num_heads: 16, hidden_dim: 1280, mlp_dim: 5120 },
} as const satisfies Record<string, ViTConfig>;

/** torchvision's LayerNorm for ViT: eps 1e-6. */
const layerNorm = (d: number) => new nn.LayerNorm(d, 1e-6);

/** One pre-norm encoder block: x + MSA(LN(x)), then x + MLP(LN(x)). */
export class EncoderBlock extends Module {
  readonly ln_1: nn.LayerNorm;
  readonly self_attention: nn.MultiheadAttention;
  readonly dropout: nn.Dropout;
  readonly ln_2: nn.LayerNorm;
  readonly mlp: MLPBlock;
  constructor(numHeads: number, hiddenDim: number, mlpDim: number, dropout: number, attentionDropout: number) {
    super();
    this.ln_1 = layerNorm(hiddenDim);
    this.self_attention = new nn.MultiheadAttention(hiddenDim, numHeads, { dropout: attentionDropout, batch_first: true });
    this.dropout = new nn.Dropout(dropout);
    this.ln_2 = layerNorm(hiddenDim);
    this.mlp = new MLPBlock(hiddenDim, mlpDim, dropout);
  }
  forward(input: Tensor<'float32', 3>): Tensor<'float32', 3> {
    let x = this.ln_1.forward(input);
    x = this.self_attention.forward(x, x, x, { needWeights: false }).output;
    x = this.dropout.forward(x).add(input);
    const y = this.mlp.forward(this.ln_2.forward(x)) as Tensor<'float32', 3>;
    return x.add(y);
  }
}

/** Position embedding, dropout, the blocks `layers.encoder_layer_{i}`, final LayerNorm `ln`. */
export class Encoder extends Module {
  readonly pos_embedding: Parameter<3>;
  readonly dropout: nn.Dropout;
  readonly layers: nn.Sequential<EncoderBlock>;
  readonly ln: nn.LayerNorm;
  constructor(seqLength: number, numLayers: number, numHeads: number, hiddenDim: number, mlpDim: number, dropout: number, attentionDropout: number) {
    super();
    this.pos_embedding = new Parameter([1, seqLength, hiddenDim], { kind: 'normal', mean: 0, std: 0.02 });
    this.dropout = new nn.Dropout(dropout);
    this.layers = new nn.Sequential(new Map(
      Array.from({ length: numLayers }, (_, i) => [`encoder_layer_${i}`, new EncoderBlock(numHeads, hiddenDim, mlpDim, dropout, attentionDropout)] as const),
    ));
    this.ln = layerNorm(hiddenDim);
  }
  forward(input: Tensor<'float32', 3>): Tensor<'float32', 3> {
    const x = this.dropout.forward(input.add(this.pos_embedding));
    return this.ln.forward(this.layers.forward(x) as Tensor<'float32', 3>);
  }
}

/** `heads`: an OrderedDict with one Linear named `head`. */
export class ClassifierHead extends Module {
  readonly head: nn.Linear;
  constructor(hiddenDim: number, numClasses: number) {
    super();
    this.head = new nn.Linear(hiddenDim, numClasses);
    // torchvision zero-initializes the head
    (this.head as { weight: Parameter<2> }).weight = new Parameter([numClasses, hiddenDim], { kind: 'constant', value: 0 });
    (this.head as { bias: Parameter<1> | undefined }).bias = new Parameter([numClasses], { kind: 'constant', value: 0 });
  }
  forward(x: Tensor<'float32', 2>): Tensor<'float32', 2> {
    return this.head.forward(x);
  }
}

export class VisionTransformer extends Module implements AdaptsStateDict {
  readonly class_token: Parameter<3>;
  readonly conv_proj: nn.Conv2d;
  readonly encoder: Encoder;
  readonly heads: ClassifierHead;
  readonly imageSize: number;
  readonly patchSize: number;
  readonly hiddenDim: number;

  constructor(config: ViTConfig) {
    super();
    const { image_size: imageSize, patch_size: patchSize, hidden_dim: hiddenDim } = config;
    const fail = (why: string): never => {
      throw new ConfigError(`VisionTransformer: ${why}`);
    };
    for (const [k, v] of Object.entries(config)) if (typeof v === 'number' && !(v >= 0 && Number.isFinite(v))) fail(`${k}=${v} must be a non-negative number`);
    if (imageSize % patchSize !== 0) fail(`image_size ${imageSize} is not a multiple of patch_size ${patchSize} (torchvision: "Input shape indivisible by patch size!")`);
    if (hiddenDim % config.num_heads !== 0) fail(`hidden_dim ${hiddenDim} is not divisible by num_heads ${config.num_heads}`);
    this.imageSize = imageSize;
    this.patchSize = patchSize;
    this.hiddenDim = hiddenDim;
    this.class_token = new Parameter([1, 1, hiddenDim], { kind: 'constant', value: 0 });
    // torchvision: trunc_normal_(std=sqrt(1 / fan_in)), zero bias
    this.conv_proj = new nn.Conv2d(3, hiddenDim, patchSize, { stride: patchSize });
    const fanIn = 3 * patchSize * patchSize;
    (this.conv_proj as { weight: Parameter<4> }).weight = new Parameter([hiddenDim, 3, patchSize, patchSize], { kind: 'normal', mean: 0, std: Math.sqrt(1 / fanIn), truncate: 2 });
    (this.conv_proj as { bias: Parameter<1> | undefined }).bias = new Parameter([hiddenDim], { kind: 'constant', value: 0 });
    const seqLength = (imageSize / patchSize) ** 2 + 1;
    this.encoder = new Encoder(seqLength, config.num_layers, config.num_heads, hiddenDim, config.mlp_dim, config.dropout ?? 0, config.attention_dropout ?? 0);
    this.heads = new ClassifierHead(hiddenDim, config.num_classes ?? 1000);
  }

  /** Patch embedding: (B, 3, H, W) -> conv P x P stride P -> (B, D, H/P, W/P) -> (B, N, D). */
  processInput(x: Tensor<'float32', 4>): Tensor<'float32', 3> {
    const [n, , h, w] = x.shape;
    if (h !== this.imageSize || w !== this.imageSize) {
      throw new ConfigError(
        `VisionTransformer: the image is ${String(h)}x${String(w)}, the model takes ${this.imageSize}x${this.imageSize} (its position embedding has ${(this.imageSize / this.patchSize) ** 2 + 1} positions); ` +
          `build it with image_size=${String(h)}: weights trained at another size then load through interpolateEmbeddings, as torchvision's interpolate_embeddings`,
      );
    }
    const patches = this.conv_proj.forward(x); // (B, D, H/P, W/P)
    return patches.reshape([n, this.hiddenDim, -1]).permute(0, 2, 1);
  }

  /**
   * A state_dict trained at another image size (same patch size) gets its position embedding
   * interpolated to this model's grid, as torchvision's `interpolate_embeddings`; a note says so.
   */
  adaptStateDict(stateDict: ReadonlyMap<string, HostTensor>): { stateDict: Map<string, HostTensor>; notes: string[] } {
    const given = stateDict.get('encoder.pos_embedding')?.shape[1];
    const side = this.imageSize / this.patchSize;
    if (given === undefined || given === side * side + 1) return { stateDict: new Map(stateDict), notes: [] };
    const adapted = interpolateEmbeddings(this.imageSize, this.patchSize, stateDict);
    const from = Math.round(Math.sqrt(given - 1));
    const note = `encoder.pos_embedding interpolated from ${from}x${from} patches (image ${from * this.patchSize}) to ${side}x${side} (image ${this.imageSize}), bicubic with align_corners as torchvision's interpolate_embeddings`;
    return { stateDict: adapted, notes: [note] };
  }

  forward(image: Tensor<'float32', 4>): Tensor<'float32', 2> {
    const n = image.size(0);
    let x = this.processInput(image);
    const classToken = this.class_token.expand([n, -1, -1]);
    x = cat([classToken, x], 1); // (B, N + 1, D)
    x = this.encoder.forward(x);
    const cls = x.slice(1, 0, 1).reshape([n, this.hiddenDim]); // the class token
    return this.heads.forward(cls);
  }
}
