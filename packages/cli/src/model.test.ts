import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type HostTensor, maxAbsDiff } from '@tessera/graph-dsl';
import { readSafetensorsFile, writeSafetensorsFile } from '@tessera/safetensors';
import { runCli } from './cli-testing.ts';

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'models', 'fixtures');
const dir = mkdtempSync(path.join(tmpdir(), 'tessera-model-'));
const at = (f: string) => path.join(dir, f);

/** A fixture's tensors under one prefix, without it. */
function part(fixture: string, prefix: string): Map<string, HostTensor> {
  const { tensors } = readSafetensorsFile(path.join(FIXTURES, `${fixture}.safetensors`));
  return new Map([...tensors].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
}

describe('prepareModel: --weights trained at another image size', () => {
  const config = ['--config', 'image_size=48', 'patch_size=8', 'num_layers=2', 'num_heads=2', 'hidden_dim=32', 'mlp_dim=64', 'num_classes=10'];
  const note = "encoder.pos_embedding interpolated from 4x4 patches (image 32) to 6x6 (image 48), bicubic with align_corners as torchvision's interpolate_embeddings";

  it("tessera run vit_b_16 at image_size=48 with a state_dict trained at 32 interpolates the position embedding, says so, and gives torchvision's logits", async () => {
    writeSafetensorsFile(at('vit32.safetensors'), part('vit_small', 'param.'));
    writeSafetensorsFile(at('image48.safetensors'), part('vit_interpolated', 'input.'));
    const lines: string[] = [];
    const { out, error } = await runCli(['run', 'vit_b_16', ...config, '--weights', at('vit32.safetensors'), '--inputs', at('image48.safetensors'), '--output', at('logits.safetensors'), '--backend', 'onnxruntime'], (l) => lines.push(l));
    expect(error).toBeUndefined();
    expect(out).toMatch(/logits f32\[2, 10\]/);
    expect(lines).toContain(`--weights ${at('vit32.safetensors')}: ${note}`);
    const logits = readSafetensorsFile(at('logits.safetensors')).tensors.get('logits')!;
    expect(maxAbsDiff(logits, part('vit_interpolated', 'output.').get('logits')!)).toBeLessThanOrEqual(1e-4);
    const exported = await runCli(['export', 'vit_b_16', ...config, '--weights', at('vit32.safetensors'), '--onnx', at('vit48.onnx')]);
    expect(exported.out).toContain(`weights ${at('vit32.safetensors')} (${note})`);
  });
});
