/** The page's picked weights file in its pipeline (as the browser runs it, in Node): float16 and int8 files load as float32, a broken one is refused naming it. */
import { describe, expect, it } from 'vitest';
import { type HostTensor, maxAbsDiff } from '@tessera/graph-dsl';
import { decodeSafetensors, dequantizeWeights, encodeSafetensors, narrowWeights, type WeightsDType } from '@tessera/safetensors/codec';
import { compileModel, runModel } from './pipeline.ts';

const MODEL = 'torch_multihead_attention';
const WORDS = ['embed_dim=64', 'num_heads=4', 'batch_first=true'];

/** The model's initial weights as `tessera export --safetensors --weights-dtype` writes them. */
function picked(dtype: WeightsDType, change: (tensors: Map<string, HostTensor>) => void = () => {}) {
  const n = narrowWeights(compileModel(MODEL, WORDS).weights, dtype);
  change(n.tensors);
  return { name: `mha.${dtype}.safetensors`, bytes: encodeSafetensors(n.tensors, n.metadata, 'test', n.narrow) };
}

describe('a picked weights file of float16 or int8', () => {
  for (const dtype of ['float16', 'int8'] as const) {
    it(`${dtype}: loads as the CLI's --weights reads it (float32) and runs near the float32 weights`, async () => {
      const file = picked(dtype);
      const model = compileModel(MODEL, WORDS, file);
      const expected = dequantizeWeights(decodeSafetensors(file.bytes), file.name);
      expect([...model.weights.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [key, t] of model.weights) {
        expect(t.dtype, key).toBe('float32');
        expect(Array.from(t.data), key).toEqual(Array.from(expected.get(key)!.data));
      }
      const [float32, narrowed] = [await runModel(compileModel(MODEL, WORDS), 3), await runModel(model, 3)];
      const diff = maxAbsDiff(float32.output!, narrowed.output!);
      expect(diff).toBeGreaterThan(0);
      expect(diff).toBeLessThan(dtype === 'int8' ? 0.02 : 1e-3);
    });
  }

  it('refuses an int8 file whose scales are missing, naming the file and the tensor', () => {
    const file = picked('int8', (tensors) => tensors.delete('in_proj_weight:scale'));
    expect(() => compileModel(MODEL, WORDS, file)).toThrow(/^mha\.int8\.safetensors: tensor 'in_proj_weight' is I8 without its scales 'in_proj_weight:scale'/);
  });
});
