/** The vision chapter (article section 4): ViT and Swin, matching torchvision. */
import { type Config, ConfigError } from '../config.ts';
import { type CatalogEntry, dim, f32, num } from '../entry.ts';
import { checkImageSize, SWIN_CONFIGS, SwinTransformer } from './swin.ts';
import { VIT_CONFIGS, VisionTransformer } from './vit.ts';

function vitEntry(name: keyof typeof VIT_CONFIGS): CatalogEntry {
  const sizes = VIT_CONFIGS[name];
  return {
    name,
    description: `Vision Transformer ${name.slice(4).replace('_', '/').toUpperCase()} (patch ${sizes.patch_size}, ${sizes.num_layers} layers, width ${sizes.hidden_dim}); loads torchvision's state_dict as is`,
    reference: `torchvision.models.${name}() (VisionTransformer)`,
    defaults: { ...sizes, num_classes: 1000, dropout: 0, attention_dropout: 0, batch: 'B' },
    choices: {},
    small: { image_size: 32, patch_size: 8, num_layers: 2, num_heads: 2, hidden_dim: 16, mlp_dim: 32, num_classes: 10 },
    build: (c: Config) => {
      const model = new VisionTransformer({
        image_size: num(c, 'image_size'), patch_size: num(c, 'patch_size'), num_layers: num(c, 'num_layers'), num_heads: num(c, 'num_heads'),
        hidden_dim: num(c, 'hidden_dim'), mlp_dim: num(c, 'mlp_dim'), num_classes: num(c, 'num_classes'), dropout: num(c, 'dropout'), attention_dropout: num(c, 'attention_dropout'),
      });
      const size = num(c, 'image_size');
      return { module: model, inputs: { image: f32(dim(c, 'batch'), 3, size, size) }, outputs: ['logits'] };
    },
  };
}

/** A size of two dims, given as (h, w) or one number for both (`patch_size=4`, `image_size=32,48`). */
const pair = (c: Config, k: string): [number, number] => {
  const v = c[k];
  const list = typeof v === 'number' ? [v] : (v as readonly number[]);
  if (!Array.isArray(list) || (list.length !== 1 && list.length !== 2)) throw new ConfigError(`${k} takes two numbers (h,w) or one, got ${String(v)}`);
  return [list[0]!, list.at(-1)!];
};
const list = (c: Config, k: string) => c[k] as readonly number[];

function swinEntry(name: keyof typeof SWIN_CONFIGS): CatalogEntry {
  const sizes = SWIN_CONFIGS[name];
  return {
    name,
    description: `Swin Transformer ${name.slice(5).toUpperCase()} (C ${sizes.embed_dim}, depths ${sizes.depths.join('-')}, window ${sizes.window_size[0]}); any image size torchvision pads to windows; loads torchvision's state_dict as is`,
    reference: `torchvision.models.${name}() (SwinTransformer)`,
    defaults: {
      patch_size: [...sizes.patch_size], embed_dim: sizes.embed_dim, depths: [...sizes.depths], num_heads: [...sizes.num_heads], window_size: [...sizes.window_size],
      mlp_ratio: 4, dropout: 0, attention_dropout: 0, stochastic_depth_prob: sizes.stochastic_depth_prob, num_classes: 1000, image_size: [224, 224], batch: 'B',
    },
    choices: {},
    // 56 -> maps 14 and 7, padded to 16 and 8 for window 4: both stages shift
    small: { embed_dim: 16, depths: [2, 2], num_heads: [2, 4], window_size: [4, 4], image_size: 56, num_classes: 10 },
    build: (c: Config) => {
      const size = pair(c, 'image_size');
      checkImageSize(size, pair(c, 'patch_size'), pair(c, 'window_size'));
      const model = new SwinTransformer({
        patch_size: pair(c, 'patch_size'), embed_dim: num(c, 'embed_dim'), depths: list(c, 'depths'), num_heads: list(c, 'num_heads'), window_size: pair(c, 'window_size'),
        mlp_ratio: num(c, 'mlp_ratio'), dropout: num(c, 'dropout'), attention_dropout: num(c, 'attention_dropout'), stochastic_depth_prob: num(c, 'stochastic_depth_prob'), num_classes: num(c, 'num_classes'),
      });
      return { module: model, inputs: { image: f32(dim(c, 'batch'), 3, size[0], size[1]) }, outputs: ['logits'] };
    },
  };
}

export const VISION_MODELS: readonly CatalogEntry[] = [
  vitEntry('vit_b_16'), vitEntry('vit_b_32'), vitEntry('vit_l_16'), vitEntry('vit_l_32'), vitEntry('vit_h_14'),
  swinEntry('swin_t'), swinEntry('swin_s'), swinEntry('swin_b'),
];
