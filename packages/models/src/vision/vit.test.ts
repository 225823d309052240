import { describe, expect, it } from 'vitest';
import { trace } from '@tessera/graph-dsl';
import { buildModel, type Config } from '../index.ts';
import { loadFixture, maxAbsDiff } from '../testing.ts';
import { compileCatalogModel, exportCompiled, onnxChecker, runOnnxRuntime, runTfjs } from './testing.ts';

const configOf = (c: Record<string, unknown>): Config => ({ ...(c as Config), batch: 'B' });

describe('ViT (torchvision VisionTransformer)', () => {
  it('loads the torchvision state_dict as is and matches its logits on tfjs and on ONNX Runtime', async () => {
    const f = loadFixture('vit_small');
    const compiled = compileCatalogModel('vit_b_16', configOf(f.config), f.params);
    const expected = f.outputs.get('logits')!;
    const tfjs = await runTfjs(compiled, { image: f.inputs.get('image')! });
    const tfjsDiff = maxAbsDiff(tfjs.logits!, expected);
    const onnx = exportCompiled(compiled);
    const ortOut = await runOnnxRuntime(onnx, { image: f.inputs.get('image')! });
    const ortDiff = maxAbsDiff(ortOut.logits!, expected);
    console.log(`vit_small: max |logits - torchvision| tfjs ${tfjsDiff.toExponential(2)}, onnxruntime ${ortDiff.toExponential(2)}`);
    expect(tfjsDiff).toBeLessThanOrEqual(1e-4);
    expect(ortDiff).toBeLessThanOrEqual(1e-4);
    const checker = onnxChecker(onnx);
    if (checker?.startsWith('skipped')) console.warn(checker);
    else expect(checker).toBeUndefined();
  });

  it("has torchvision's state_dict names and shapes, and vit_b_16's 86,567,656 parameters", () => {
    const { built } = buildModel('vit_b_16', ['num_layers=1']);
    const names = built.module.namedParameters().map(([n, p]) => `${n} [${p.shape.join(', ')}]`);
    expect(names).toEqual([
      'class_token [1, 1, 768]', 'conv_proj.weight [768, 3, 16, 16]', 'conv_proj.bias [768]', 'encoder.pos_embedding [1, 197, 768]',
      'encoder.layers.encoder_layer_0.ln_1.weight [768]', 'encoder.layers.encoder_layer_0.ln_1.bias [768]',
      'encoder.layers.encoder_layer_0.self_attention.in_proj_weight [2304, 768]', 'encoder.layers.encoder_layer_0.self_attention.in_proj_bias [2304]',
      'encoder.layers.encoder_layer_0.self_attention.out_proj.weight [768, 768]', 'encoder.layers.encoder_layer_0.self_attention.out_proj.bias [768]',
      'encoder.layers.encoder_layer_0.ln_2.weight [768]', 'encoder.layers.encoder_layer_0.ln_2.bias [768]',
      'encoder.layers.encoder_layer_0.mlp.0.weight [3072, 768]', 'encoder.layers.encoder_layer_0.mlp.0.bias [3072]',
      'encoder.layers.encoder_layer_0.mlp.3.weight [768, 3072]', 'encoder.layers.encoder_layer_0.mlp.3.bias [768]',
      'encoder.ln.weight [768]', 'encoder.ln.bias [768]', 'heads.head.weight [1000, 768]', 'heads.head.bias [1000]',
    ]);
    const count = (name: string) => buildModel(name).built.module.namedParameters().reduce((s, [, p]) => s + p.shape.reduce<number>((a, d) => a * (d as number), 1), 0);
    expect(count('vit_b_16')).toBe(86_567_656);
    expect(count('vit_b_32')).toBe(88_224_232);
    expect(count('vit_l_16')).toBe(304_326_632);
    expect(count('vit_h_14')).toBe(632_045_800);
  });

  it('refuses an image size the patches or the position embedding do not fit, naming the sizes', () => {
    expect(() => buildModel('vit_b_16', ['image_size=100'])).toThrow(/image_size 100 is not a multiple of patch_size 16/);
    const { built } = buildModel('vit_b_16', ['num_layers=1']);
    expect(() => trace(built.module, { image: { dtype: 'float32', shape: ['B', 3, 256, 256] } }, built.outputs)).toThrow(/the image is 256x256, the model takes 224x224 \(its position embedding has 197 positions\); build it with image_size=256: weights trained at another size then load through interpolateEmbeddings/);
  });
});
