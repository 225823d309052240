import { describe, expect, it } from 'vitest';
import { trace } from '@tessera/graph-dsl';
import { buildModel } from '../catalog.ts';
import { IMAGENET_LABELS } from './imagenet-labels.ts';
import { imageInput, inputImage, preprocess, presetFor, PRESETS } from './preprocess.ts';

const graphOf = (name: string, config: string[]) => {
  const { built } = buildModel(name, config);
  return trace(built.module, built.inputs, built.outputs);
};

describe('image inputs and presets', () => {
  it("finds a vision model's (B, 3, H, W) input, and none in a model of other inputs", () => {
    expect(imageInput(graphOf('vit_b_16', ['image_size=32', 'patch_size=8', 'num_layers=1', 'hidden_dim=16', 'mlp_dim=32', 'num_heads=2']))).toEqual({ name: 'image', height: 32, width: 32 });
    expect(imageInput(graphOf('torch_multihead_attention', ['embed_dim=16', 'num_heads=4']))).toBeUndefined();
  });
  it("scales torchvision's preset to the model's input size, bilinear by 256/224 for a model without one", () => {
    expect(presetFor('swin_t', 224, 224)).toEqual(PRESETS.swin_t);
    expect(presetFor('vit_b_16', 32, 32)).toEqual({ resize: Math.round((256 * 32) / 224), crop: 32, interpolation: 'bilinear' });
    expect(presetFor('my_model', 112, 112)).toEqual({ resize: 128, crop: 112, interpolation: 'bilinear' });
  });
  it('inputImage undoes the normalization: an image at the crop size comes back as its bytes', () => {
    const data = Uint8Array.from({ length: 6 * 4 * 4 }, (_, i) => (i % 4 === 3 ? 255 : (i * 37) % 256));
    const back = inputImage(preprocess({ width: 6, height: 4, data }, { resize: 4, crop: 4, interpolation: 'bilinear' }, [4, 6]));
    expect([back.width, back.height]).toEqual([6, 4]);
    expect(Array.from(back.data)).toEqual(Array.from(data));
  });

  it("has torchvision's 1000 ImageNet labels in order", () => {
    expect(IMAGENET_LABELS).toHaveLength(1000);
    expect([IMAGENET_LABELS[0], IMAGENET_LABELS[207], IMAGENET_LABELS[999]]).toEqual(['tench', 'golden retriever', 'toilet tissue']);
  });
});
