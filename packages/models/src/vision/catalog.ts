/** The vision chapter (article section 4): ViT and Swin, matching torchvision. */
import type { Config } from '../config.ts';
import { type CatalogEntry, dim, f32, num } from '../entry.ts';
import { VIT_CONFIGS, VisionTransformer } from './vit.ts';

function vitEntry(name: keyof typeof VIT_CONFIGS): CatalogEntry {
  const sizes = VIT_CONFIGS[name];
  return {
    name,
    description: `Vision Transformer ${name.slice(4).replace('_', '/').toUpperCase()} (patch ${sizes.patch_size}, ${sizes.num_layers} layers, width ${sizes.hidden_dim}); loads torchvision's state_dict as is`,
    reference: `torchvision.models.${name}() (VisionTransformer)`,
    defaults: { ...sizes, num_classes: 1000, dropout: 0, attention_dropout: 0, batch: 'B' },
    choices: {},
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

export const VISION_MODELS: readonly CatalogEntry[] = [vitEntry('vit_b_16'), vitEntry('vit_b_32'), vitEntry('vit_l_16'), vitEntry('vit_l_32'), vitEntry('vit_h_14')];
