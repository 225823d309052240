import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { randomInputs, symbolSizes, trace } from '@tessera/graph-dsl';
import { buildModel } from '@tessera/models';
import { readSafetensorsFile, writeSafetensorsFile } from '@tessera/safetensors';
import { runCli, userErrorOf } from '../cli-testing.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'tessera-run-'));
const at = (name: string) => path.join(dir, name);
const CONFIG = ['embed_dim=8', 'num_heads=2', 'key_padding_mask=bool'];
const MHA = ['torch_multihead_attention', '--config', ...CONFIG, '--backend', 'cpu'];
const outputs = (file: string) => Object.fromEntries([...readSafetensorsFile(file).tensors].map(([k, t]) => [k, { shape: t.shape, data: Array.from(t.data) }]));

describe('tessera run --random-inputs SEED', () => {
  it('runs on the inputs randomInputs draws for the seed at batch 2, other dims 5: the same as given in a file', async () => {
    const lines: string[] = [];
    const { out } = await runCli(['run', ...MHA, '--random-inputs', '3', '--output', at('random.safetensors')], (l) => lines.push(l));
    expect(out).toMatch(/output f32\[5, 2, 8\], attn_weights f32\[2, 5, 5\]/);
    expect(lines).toContain('random inputs (seed 3): batch 2, every other symbolic dim 5');

    const { built } = buildModel('torch_multihead_attention', CONFIG);
    const graph = trace(built.module, built.inputs, built.outputs);
    writeSafetensorsFile(at('in.safetensors'), new Map(Object.entries(randomInputs(graph, symbolSizes(graph), 3))));
    await runCli(['run', ...MHA, '--inputs', at('in.safetensors'), '--output', at('file.safetensors')]);
    expect(outputs(at('random.safetensors'))).toEqual(outputs(at('file.safetensors')));

    await runCli(['run', ...MHA, '--random-inputs', '4', '--output', at('other.safetensors')]);
    expect(outputs(at('other.safetensors')).output!.data).not.toEqual(outputs(at('random.safetensors')).output!.data);
  });
  it('refuses a seed that is not a whole number, and --inputs beside it', async () => {
    expect(await userErrorOf(['run', ...MHA, '--random-inputs', '-1', '--output', at('never.safetensors')])).toBe('--random-inputs -1: expected a seed, a whole number from 0');
    expect(await userErrorOf(['run', ...MHA, '--random-inputs', '1', '--inputs', at('in.safetensors'), '--output', at('never.safetensors')])).toBe(
      '--inputs and --random-inputs both give the inputs: pass one of them',
    );
  });
});
