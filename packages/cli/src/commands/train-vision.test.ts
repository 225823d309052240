import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readSafetensorsFile } from '@tessera/safetensors';
import { main } from '../main.ts';
import { prepareModel } from '../model.ts';

describe('tessera train vit', () => {
  it('trains on generated shapes, lowers the loss, and writes a checkpoint that loads by torchvision names', async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'tessera-train-vit-')), 'ckpt');
    const progress: string[] = [];
    const out = await main(['train', 'vit', '--checkpoint', dir, '--epochs', '3', '--train', '128', '--held-out', '40', '--batch-size', '16', '--lr', '0.003', '--config', 'num_layers=1', 'hidden_dim=16', 'mlp_dim=32', 'num_heads=2'], (l) => progress.push(l));
    const m = /mean loss ([\d.]+) \(epoch 1\) -> ([\d.]+) \(epoch 3\)/.exec(out)!;
    expect(Number(m[2])).toBeLessThan(Number(m[1]));
    expect(out).toMatch(/held-out accuracy \d+\.\d% on 40 images \(chance 25%\)/);
    for (const f of ['model.safetensors', 'config.json', 'loss.svg']) expect(existsSync(path.join(dir, f))).toBe(true);
    expect(readFileSync(path.join(dir, 'loss.svg'), 'utf8')).toMatch(/^<svg/);
    const weights = readSafetensorsFile(path.join(dir, 'model.safetensors')).tensors;
    expect(weights.has('encoder.layers.encoder_layer_0.self_attention.in_proj_weight')).toBe(true);
    // the checkpoint is the model's state_dict: it loads into the same config
    const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as { config: Record<string, unknown> };
    const args = Object.entries(config.config).filter(([k]) => k !== 'batch').map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`);
    await expect(prepareModel('vit_b_16', args, path.join(dir, 'model.safetensors'))).resolves.toBeDefined();

    // it goes on from its checkpoint (weights and Adam's state), and is not overwritten unasked
    await expect(main(['train', 'vit', '--checkpoint', dir, '--epochs', '1', '--train', '128'], () => {})).rejects.toThrow(/holds a trained checkpoint \(config\.json\): continue it with --resume/);
    const more = await main(['train', 'vit', '--checkpoint', dir, '--resume', dir, '--epochs', '1', '--train', '128', '--held-out', '40', '--batch-size', '16', '--lr', '0.003'], (l) => progress.push(l));
    expect(progress.some((l) => l.startsWith(`resuming ${dir} after epoch 3`))).toBe(true);
    expect(more).toMatch(/\(epoch 4\)/);
    const resumed = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as { training: { epochs: number; losses: number[] } };
    expect(resumed.training.epochs).toBe(4);
    expect(resumed.training.losses).toHaveLength(4 * 8);
  }, 90_000);

  it('refuses a config the dataset does not fit', async () => {
    await expect(main(['train', 'vit', '--checkpoint', '/tmp/x', '--config', 'image_size=64', 'patch_size=8'], () => {})).rejects.toThrow(/the shapes dataset is 32x32/);
  });
});
