/**
 * export --safetensors --weights-dtype through the CLI: the files shrink, the report is printed and
 * means what it says (run --weights on the written file agrees with the float32 weights within
 * it), the errors; a broken int8 file is refused by run --weights, naming the file and the tensor.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CATALOG } from '@tessera/models';
import { decodeSafetensors, DTYPE_KEY, encodeSafetensors, readSafetensorsFile, SCALE_SUFFIX } from '@tessera/safetensors';
import { compareOutputs } from './accuracy.ts';
import { asArgs } from './catalog-cases.ts';
import { runCli } from './cli-testing.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'tessera-weights-dtype-'));
const at = (name: string) => path.join(dir, name);
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const cli = (...argv: string[]) => runCli(argv, () => {});
const MHA = ['torch_multihead_attention', '--config', 'embed_dim=128', 'num_heads=4', 'batch_first=true'];

/** `run --random-inputs 0` of the model on a weights file: its outputs. */
async function outputsWith(model: readonly string[], weights: string, name: string) {
  const out = at(`${name}.out.safetensors`);
  const { error } = await cli('run', ...model, '--weights', weights, '--random-inputs', '0', '--output', out);
  expect(error).toBeUndefined();
  return Object.fromEntries(readSafetensorsFile(out).tensors);
}

describe('tessera export --safetensors --weights-dtype', () => {
  const float32 = at('mha.float32.safetensors');

  it('writes float32 weights that run --weights reads as the model had them', async () => {
    const { out, error } = await cli('export', ...MHA, '--safetensors', float32);
    expect(error).toBeUndefined();
    expect(out).toMatch(/^wrote .*mha\.float32\.safetensors \(torch_multihead_attention's weights, 4 tensors, 264\.\dKB, float32\)$/);
    expect(readSafetensorsFile(float32).metadata[DTYPE_KEY]).toBe('float32');
  });

  const cases = [
    { dtype: 'float16', stored: 'F16', shrinks: [1.9, 2.0], relative: [1e-6, 1e-3] },
    // int8 per row: a scale per row of 128 and the float32 biases are what keeps it from 4x at this size
    { dtype: 'int8', stored: 'I8', shrinks: [3.6, 4.0], relative: [1e-4, 0.02] },
  ] as const;
  for (const c of cases) {
    it(`${c.dtype}: the file shrinks ${c.shrinks[0]}x or more, the report says by how much and how far the outputs moved, and run --weights agrees within it`, async () => {
      const file = at(`mha.${c.dtype}.safetensors`);
      const onnx = at(`mha.${c.dtype}.onnx`);
      const { out, error } = await cli('export', ...MHA, '--onnx', onnx, '--safetensors', file, '--weights-dtype', c.dtype);
      expect(error).toBeUndefined();
      const lines = out!.split('\n');
      expect(lines[0]).toMatch(/^wrote .*\.onnx \(torch_multihead_attention, portable target/);
      expect(statSync(onnx).size).toBeGreaterThan(statSync(float32).size);
      const scheme = c.dtype === 'int8' ? 'int8, one float32 scale per row \\(dim 0\\)' : 'float16';
      expect(lines[1]).toMatch(new RegExp(`^wrote .*\\.safetensors \\(torch_multihead_attention's weights, 4 tensors, [\\d.]+KB\\): 2 tensors ${scheme}; as they were: 2 \\(fewer than 2 dims\\)$`));
      const ratio = statSync(float32).size / statSync(file).size;
      expect(ratio).toBeGreaterThan(c.shrinks[0]);
      expect(ratio).toBeLessThan(c.shrinks[1]);
      const size = /^size: ([\d.]+)KB as float32 -> ([\d.]+)KB as (\w+) \(([\d.]+)x smaller\)$/.exec(lines[2]!);
      expect(size, lines[2]).not.toBeNull();
      expect([Number(size![1]) * 1000, Number(size![2]) * 1000, size![3], Number(size![4])]).toEqual([
        expect.closeTo(statSync(float32).size, -2), expect.closeTo(statSync(file).size, -2), c.dtype, expect.closeTo(ratio, 2),
      ]);
      expect(lines[3]).toMatch(/^against the float32 weights on tfjs \([\w-]+\), seeded random inputs \(batch 8, seed 0\):$/);
      const reported = /^ {2}output \[8, 5, 128\]: max abs (\S+), relative (\S+) %$/.exec(lines[4]!);
      expect(reported, lines[4]).not.toBeNull();
      expect(lines[5]).toMatch(/^ {2}attn_weights \[8, 5, 5\]: max abs \S+, relative \S+ %$/);
      expect(lines).toHaveLength(6); // no note: within 2 %
      const relative = Number(reported![2]) / 100;
      expect(relative).toBeGreaterThan(c.relative[0]);
      expect(relative).toBeLessThan(c.relative[1]);

      const { tensors, stored, metadata } = decodeSafetensors(readFileSync(file));
      expect([stored.get('in_proj_weight'), stored.get('out_proj.weight'), stored.get('in_proj_bias')]).toEqual([c.stored, c.stored, 'F32']);
      expect(metadata[DTYPE_KEY]).toBe(c.dtype);
      expect(tensors.get(`in_proj_weight${SCALE_SUFFIX}`)?.shape).toEqual(c.dtype === 'int8' ? [384] : undefined);

      // other inputs (run's batch 2): the error stays of the size reported
      const [reference, got] = [await outputsWith(MHA, float32, 'float32'), await outputsWith(MHA, file, c.dtype)];
      const [output] = compareOutputs(reference, got);
      expect(output!.relative).toBeGreaterThan(c.relative[0]);
      expect(output!.relative).toBeLessThan(2 * relative);
    });
  }

  it('reports top-1 agreement for a classifier (swin_t, small)', async () => {
    const swin = ['swin_t', '--config', ...asArgs(CATALOG.find((e) => e.name === 'swin_t')!.small)];
    const { out, error } = await cli('export', ...swin, '--safetensors', at('swin.safetensors'), '--weights-dtype', 'int8');
    expect(error).toBeUndefined();
    const logits = /^ {2}logits \[8, 10\]: max abs \S+, relative (\S+) %, top-1 agreement (\d)\/8$/m.exec(out!);
    expect(logits, out).not.toBeNull();
    expect(Number(logits![1])).toBeGreaterThan(0.01);
    expect(Number(logits![1])).toBeLessThan(2);
    expect(Number(logits![2])).toBeGreaterThanOrEqual(7);
    expect(out).toMatch(/; as they were: \d+ \(under 1024 values\), \d+ \(fewer than 2 dims\)\n/);
  });

  it('keeps the modules of --weights-dtype-exclude float32, and names the last module in the note past 2 %', async () => {
    const file = at('mha.excluded.safetensors');
    const { out, error } = await cli('export', ...MHA, '--safetensors', file, '--weights-dtype', 'int8', '--weights-dtype-exclude', 'out_proj');
    expect(error).toBeUndefined();
    expect(out).toMatch(/: 1 tensors int8, one float32 scale per row \(dim 0\); as they were: 1 \(fewer than 2 dims\), 2 \(excluded: out_proj\)\n/);
    const { stored } = decodeSafetensors(readFileSync(file));
    expect([stored.get('in_proj_weight'), stored.get('out_proj.weight'), stored.get('out_proj.bias')]).toEqual(['I8', 'F32', 'F32']);
    expect((await cli('export', ...MHA, '--safetensors', file, '--weights-dtype', 'int8', '--weights-dtype-exclude', 'out_proj,out_prj')).error).toBe(
      "--weights-dtype-exclude out_prj: no weights under this module path; the model's modules are in_proj_weight, in_proj_bias, out_proj",
    );
    expect((await cli('export', ...MHA, '--safetensors', file, '--weights-dtype-exclude', 'out_proj')).error).toMatch(/^--weights-dtype-exclude keeps modules float32 .*; give --weights-dtype too$/);
    expect((await cli('export', ...MHA, '--safetensors', file, '--weights-dtype', 'int8', '--weights-dtype-exclude', 'out_proj,')).error).toMatch(/^--weights-dtype-exclude "out_proj,": expected module paths separated by commas/);
  });

  it('refuses what it cannot do, and a broken int8 file with its name and tensor', async () => {
    expect((await cli('export', ...MHA, '--onnx', at('x.onnx'), '--weights-dtype', 'int8')).error).toBe('--weights-dtype int8 chooses how --safetensors stores the weights; give --safetensors OUT.safetensors too');
    expect((await cli('export', ...MHA, '--safetensors', at('x.safetensors'), '--weights-dtype', 'int4')).error).toBe('--weights-dtype int4: expected one of float32, float16, int8');
    expect((await cli('export', ...MHA)).error).toBe('tessera export needs --onnx FILE.onnx (or --safetensors FILE.safetensors)');
    expect((await cli('export', ...MHA, '--safetensors', at('x.safetensors'), '--quantize', 'dynamic')).error).toMatch(/^--quantize writes an ONNX model; give --onnx FILE\.onnx too/);
    expect((await cli('export', ...MHA, '--safetensors', float32, '--weights', float32)).error).toMatch(/^refusing to write --safetensors .*: it is the --weights file/);

    const { tensors, metadata } = decodeSafetensors(readFileSync(at('mha.int8.safetensors')));
    const broken = at('broken.safetensors');
    tensors.delete(`out_proj.weight${SCALE_SUFFIX}`);
    writeFileSync(broken, encodeSafetensors(tensors, metadata, 'test', new Map([['in_proj_weight', 'I8'], ['out_proj.weight', 'I8']])));
    const { error } = await cli('run', ...MHA, '--weights', broken, '--random-inputs', '0', '--output', at('never.safetensors'));
    expect(error).toMatch(/^.*broken\.safetensors: tensor 'out_proj\.weight' is I8 without its scales 'out_proj\.weight:scale'/);
  });
});
