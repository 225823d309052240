/**
 * The attention maps against torchvision's (fixtures/attention.py): vit_small's and swin_small's
 * parameters (models' fixtures), one seeded image, compiled with the page's compileModel (the
 * attention kept fused, its probabilities an extra output) and run on tfjs as the page runs them.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type HostTensor, maxAbsDiff } from '@tessera/graph-dsl';
import { configWords, type Config } from '@tessera/models';
import { encodeSafetensors, readSafetensorsFile } from '@tessera/safetensors';
import { type AttentionMap, blockMap, type Head } from './attention-map.ts';
import { compileModel, runPixels } from './pipeline.ts';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const MODELS_FIXTURES = path.join(HERE, '../../models/fixtures');
const TOLERANCE = 1e-4;
const torch = readSafetensorsFile(path.join(HERE, '../fixtures/attention.safetensors')).tensors;

/** A models fixture's torchvision state_dict as the file a user picks, and its config as the CLI's words. */
function torchvisionModel(fixture: string): { words: string[]; file: { name: string; bytes: Uint8Array } } {
  const { tensors, metadata } = readSafetensorsFile(path.join(MODELS_FIXTURES, `${fixture}.safetensors`));
  const params = new Map([...tensors].filter(([k]) => k.startsWith('param.')).map(([k, v]) => [k.slice('param.'.length), v]));
  const config = JSON.parse(metadata.config!) as Record<string, unknown>;
  const { stochastic_depth_prob: _, ...ours } = config;
  return { words: configWords(ours as Config), file: { name: `${fixture}.safetensors`, bytes: encodeSafetensors(params) } };
}

const asTensor = (m: AttentionMap): HostTensor => ({ dtype: 'float32', shape: [m.rows, m.cols], data: m.values });

async function ranOn(model: string, fixture: string, prefix: string) {
  const { words, file } = torchvisionModel(fixture);
  const compiled = compileModel(model, words, file, { attention: true });
  const { logits, probs } = await runPixels(compiled, torch.get(`${prefix}.image`)!);
  return { compiled, logits, probs };
}

describe('attention maps against torchvision', () => {
  it('ViT: each block keeps its attention fused, and its probabilities, class-token maps and rollout are torchvision\'s within 1e-4', async () => {
    const { compiled, logits, probs } = await ranOn('vit_b_16', 'vit_small', 'vit');
    expect(compiled.fusions.attention).toBe(2);
    expect(compiled.attention.map((b) => [b.path, b.heads])).toEqual([['encoder.layers.encoder_layer_0', 2], ['encoder.layers.encoder_layer_1', 2]]);
    expect(maxAbsDiff(logits, torch.get('vit.logits')!)).toBeLessThanOrEqual(TOLERANCE);
    for (const block of compiled.attention) {
      expect(maxAbsDiff(probs[block.output]!, torch.get(`vit.probs.${block.path}`)!), block.path).toBeLessThanOrEqual(TOLERANCE);
      for (const head of [0, 1, 'mean'] as Head[]) {
        expect(maxAbsDiff(asTensor(blockMap(compiled.attention, probs, block.path, head)), torch.get(`vit.map.${block.path}.${head}`)!), `${block.path} ${head}`).toBeLessThanOrEqual(TOLERANCE);
      }
      expect(maxAbsDiff(asTensor(blockMap(compiled.attention, probs, block.path, 'mean', true)), torch.get(`vit.rollout.${block.path}`)!), `rollout to ${block.path}`).toBeLessThanOrEqual(TOLERANCE);
    }
    // the rollout to the last block is not that block's own map: the product counts
    const last = compiled.attention[1]!.path;
    expect(maxAbsDiff(asTensor(blockMap(compiled.attention, probs, last, 'mean', true)), torch.get(`vit.map.${last}.mean`)!)).toBeGreaterThan(1e-3);
  });

  it("Swin: padded and shifted windows put back on each block's map as torchvision's window reverse does, within 1e-4", async () => {
    const { compiled, logits, probs } = await ranOn('swin_t', 'swin_small', 'swin');
    expect(compiled.fusions.attention).toBe(4);
    expect(compiled.attention.map((b) => [b.path, b.heads, b.geometry.kind === 'windows' && b.geometry.layout.shift])).toEqual([
      ['features.1.0', 2, [0, 0]], ['features.1.1', 2, [2, 2]], ['features.3.0', 4, [0, 0]], ['features.3.1', 4, [2, 2]],
    ]);
    expect(maxAbsDiff(logits, torch.get('swin.logits')!)).toBeLessThanOrEqual(TOLERANCE);
    for (const block of compiled.attention) {
      expect(maxAbsDiff(probs[block.output]!, torch.get(`swin.probs.${block.path}`)!), block.path).toBeLessThanOrEqual(TOLERANCE);
      for (const head of [...Array.from({ length: block.heads }, (_, h) => h), 'mean'] as Head[]) {
        expect(maxAbsDiff(asTensor(blockMap(compiled.attention, probs, block.path, head)), torch.get(`swin.map.${block.path}.${head}`)!), `${block.path} ${head}`).toBeLessThanOrEqual(TOLERANCE);
      }
    }
  });
});
