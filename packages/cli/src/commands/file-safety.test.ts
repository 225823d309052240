/**
 * No command destroys a user's file: an output that is one of the command's inputs, or that is
 * not a regular file (a device, a link, a directory), is refused before any work, and an
 * interrupted export leaves neither a temp file nor a changed target.
 */
import { spawn } from 'node:child_process';
import { linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { hostTensor, initialWeights, trace } from '@tessera/graph-dsl';
import { buildModel } from '@tessera/models';
import { writeSafetensorsFile } from '@tessera/safetensors';
import { userErrorOf } from '../cli-testing.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'tessera-file-safety-'));
const at = (name: string) => path.join(dir, name);
const MHA = ['torch_multihead_attention', '--config', 'embed_dim=8', 'num_heads=2', 'batch_first=true'];

const refusal = userErrorOf;

beforeAll(() => {
  const { built } = buildModel('torch_multihead_attention', ['embed_dim=8', 'num_heads=2', 'batch_first=true']);
  writeSafetensorsFile(at('w.safetensors'), initialWeights(trace(built.module, built.inputs, built.outputs), 7));
  const x = () => hostTensor('float32', [2, 3, 8], Array.from({ length: 48 }, (_, i) => Math.cos(i)));
  writeSafetensorsFile(at('in.safetensors'), new Map([['query', x()], ['key', x()], ['value', x()]]));
  linkSync(at('w.safetensors'), at('hard-link.safetensors'));
  symlinkSync(at('w.safetensors'), at('sym-link.safetensors'));
  mkdirSync(at('a-directory'));
});

describe('outputs that would destroy a file', () => {
  it('refuses an output that is an input, by any name, and leaves it as it was', async () => {
    const before = readFileSync(at('w.safetensors'));
    for (const name of ['w.safetensors', 'hard-link.safetensors', 'sym-link.safetensors']) {
      expect(await refusal(['export', ...MHA, '--weights', at('w.safetensors'), '--onnx', at(name)])).toMatch(/refusing to write .*(: it is the --weights file|: it is a symbolic link)/);
    }
    const relative = path.relative(process.cwd(), at('w.safetensors'));
    expect(await refusal(['export', ...MHA, '--weights', at('w.safetensors'), '--onnx', relative])).toMatch(/it is the --weights file/);
    expect(await refusal(['run', ...MHA, '--inputs', at('in.safetensors'), '--output', at('in.safetensors')])).toMatch(/refusing to write --output .*: it is the --inputs file/);
    expect(await refusal(['run', ...MHA, '--inputs', at('in.safetensors'), '--weights', at('w.safetensors'), '--output', at('hard-link.safetensors')])).toMatch(/it is the --weights file/);
    expect(readFileSync(at('w.safetensors')).equals(before)).toBe(true);
    expect(lstatSync(at('sym-link.safetensors')).isSymbolicLink()).toBe(true);
  });

  it('refuses a device, a symbolic link and a directory, and says what each is', async () => {
    expect(await refusal(['export', ...MHA, '--onnx', '/dev/null'])).toMatch(/refusing to write \/dev\/null: it is a character device, not a regular file/);
    expect(lstatSync('/dev/null').isCharacterDevice()).toBe(true);
    expect(await refusal(['export', ...MHA, '--onnx', at('sym-link.safetensors')])).toMatch(/it is a symbolic link/);
    expect(await refusal(['export', ...MHA, '--onnx', at('a-directory')])).toMatch(/it is a directory/);
    expect(await refusal(['export', ...MHA, '--onnx', ''])).toMatch(/no file was named/);
    expect(await refusal(['export', ...MHA, '--onnx', at('missing/m.onnx')])).toMatch(/its directory does not exist/);
  });
});

describe('an interrupted export', () => {
  it('leaves no temp file and the old target unchanged', async () => {
    const target = at('vit.onnx');
    writeFileSync(target, 'the model from before');
    const bin = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../bin/tessera.mjs');
    // external data is written piece by piece, so the signal lands while temp files exist
    const child = spawn(process.execPath, [bin, 'export', 'vit_b_16', '--onnx', target, '--external-data'], { stdio: 'ignore' });
    const temps = () => readdirSync(dir).filter((f) => f.endsWith('.tmp'));
    const deadline = Date.now() + 120_000;
    while (temps().length === 0 && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 10));
    expect(temps().length).toBeGreaterThan(0);
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? -1 : null))));
    expect(code).not.toBe(0);
    expect(temps()).toEqual([]);
    expect(readFileSync(target, 'utf8')).toBe('the model from before');
  }, 180_000);
});
