import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { type HostTensor, hostTensor, randomInputs, symbolSizes, trace } from '@tessera/graph-dsl';
import { buildModel } from '@tessera/models';
import { readSafetensorsFile, writeSafetensorsFile } from '@tessera/safetensors';
import { runCli, userErrorOf } from '../cli-testing.ts';
import { prepareModel } from '../model.ts';
import { runOnOnnxRuntime } from './run.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'tessera-run-'));
const at = (name: string) => path.join(dir, name);
const CONFIG = ['embed_dim=8', 'num_heads=2', 'key_padding_mask=bool'];
const MHA = ['torch_multihead_attention', '--config', ...CONFIG, '--backend', 'cpu'];
const outputs = (file: string) => Object.fromEntries([...readSafetensorsFile(file).tensors].map(([k, t]) => [k, { shape: t.shape, data: Array.from(t.data) }]));

const fixture = (name: string) => path.join(path.dirname(fileURLToPath(import.meta.url)), '../../fixtures', name);
const TORCH_MHA = ['torch_multihead_attention', '--config', 'embed_dim=8', 'num_heads=2', '--weights', fixture('mha_weights.safetensors')];

function inputsFile(name: string, tensors: Record<string, HostTensor>): string {
  const file = path.join(dir, name);
  writeSafetensorsFile(file, new Map(Object.entries(tensors)));
  return file;
}
const maxDiff = (a: HostTensor, b: HostTensor) => Math.max(...Array.from(a.data, (v, i) => Math.abs(v - b.data[i]!)));

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

describe('tessera run', () => {
  it("runs an inputs file written from PyTorch by packages/models/scripts/save_inputs.py (float64 -> float32) like torch's module", async () => {
    const out = path.join(dir, 'mha_out.safetensors');
    const { error } = await runCli(['run', ...TORCH_MHA, '--inputs', fixture('mha_inputs.safetensors'), '--output', out]);
    expect(error).toBeUndefined();
    const got = readSafetensorsFile(out).tensors;
    for (const [name, want] of readSafetensorsFile(fixture('mha_expected.safetensors')).tensors) {
      expect(got.get(name)!.shape).toEqual(want.shape);
      expect(maxDiff(got.get(name)!, want), name).toBeLessThan(1e-5);
    }
  });

  it("names the dtype an inputs file stores when it is not the model's (an I64 query is not 'a int32 tensor' to the user)", async () => {
    expect(await userErrorOf(['run', ...TORCH_MHA, '--inputs', fixture('mha_inputs_i64.safetensors'), '--output', path.join(dir, 'x.safetensors')])).toMatch(
      /input 'query' must be float32 \[L, B, 8\], but a int32 \[3, 2, 8\] tensor was given: wrong dtype\. The file stores 'query' as I64, read as int32\./,
    );
  });

  it('gives empty outputs for an empty batch on every backend, as PyTorch does, and refuses outputs that would be computed from nothing', async () => {
    const empty = (shape: number[]) => hostTensor('float32', shape);
    const file = inputsFile('batch0.safetensors', { query: empty([3, 0, 8]), key: empty([4, 0, 8]), value: empty([4, 0, 8]) });
    for (const backend of ['wasm', 'onnxruntime']) {
      const out = path.join(dir, `batch0_${backend}.safetensors`);
      expect((await runCli(['run', ...TORCH_MHA, '--inputs', file, '--output', out, '--backend', backend])).error).toBeUndefined();
      const got = readSafetensorsFile(out).tensors;
      // torch.nn.MultiheadAttention(8, 2) on (3, 0, 8) and (4, 0, 8): output (3, 0, 8), attn_weights (0, 3, 4)
      expect([got.get('output')!.shape, got.get('attn_weights')!.shape]).toEqual([[3, 0, 8], [0, 3, 4]]);
    }
    const noKeys = inputsFile('keys0.safetensors', { query: empty([3, 2, 8]), key: empty([0, 2, 8]), value: empty([0, 2, 8]) });
    expect(await userErrorOf(['run', ...TORCH_MHA, '--inputs', noKeys, '--output', path.join(dir, 'k0.safetensors')])).toMatch(
      /input 'key' is empty \(f32\[0, 2, 8\]\), but output 'output' would be f32\[3, 2, 8\], values computed from no values/,
    );
  }, 30_000);

  it("checks the Transformer's token ids and valid lengths before running: inside the vocabulary, lengths from 1 to the sequence's", async () => {
    const TINY = ['transformer', '--config', 'd_model=8', 'nhead=2', 'num_encoder_layers=1', 'num_decoder_layers=1', 'dim_feedforward=16', 'src_vocab=10', 'tgt_vocab=12'];
    const ids = (rows: number[][]) => hostTensor('int32', [rows.length, rows[0]!.length], rows.flat());
    const run = (name: string, src: number[][], lens: number[], tgt: number[][]) =>
      runCli(['run', ...TINY, '--inputs', inputsFile(name, { src: ids(src), src_valid_lens: hostTensor('int32', [lens.length], lens), tgt: ids(tgt) }), '--output', path.join(dir, `out_${name}`)]);
    const src = [[1, 2, 9], [3, 4, 5]];
    const tgt = [[0, 11], [2, 3]];
    expect((await run('ok.safetensors', src, [3, 1], tgt)).error).toBeUndefined();
    expect((await run('999.safetensors', [[1, 2, 999], [3, 4, 5]], [3, 1], tgt)).error).toMatch(/input 'src' holds 999 at \[0, 2\]; it must be a token id of the source vocabulary \(src_vocab 10\), from 0 to 9/);
    expect((await run('neg.safetensors', src, [3, 1], [[0, 11], [2, -1]])).error).toMatch(/input 'tgt' holds -1 at \[1, 1\]; it must be a token id of the target vocabulary \(tgt_vocab 12\), from 0 to 11/);
    expect((await run('len0.safetensors', src, [3, 0], tgt)).error).toMatch(/input 'src_valid_lens' holds 0 at \[1\]; it must be a valid length: .*, from 1 to S = 3/);
    expect((await run('len4.safetensors', src, [4, 1], tgt)).error).toMatch(/input 'src_valid_lens' holds 4 at \[0\]; .* from 1 to S = 3/);
  }, 30_000);

  it("refuses on wasm a run that needs a tensor larger than wasm's memory, before running, naming it and suggesting onnxruntime", async () => {
    // one head over 32768 x 32768 scores: 4 GiB of attention weights from 1.5 MiB of inputs
    const long = hostTensor('float32', [32768, 1, 4]);
    const file = inputsFile('long.safetensors', { query: long, key: long, value: long });
    expect(await userErrorOf(['run', 'torch_multihead_attention', '--config', 'embed_dim=4', 'num_heads=1', '--inputs', file, '--output', path.join(dir, 'long_out.safetensors'), '--backend', 'wasm'])).toMatch(
      /does not fit in the wasm backend's memory \(it holds at most 4 GiB; .* makes a f32\[1, 1, 32768, 32768\] tensor of 4\.00 GiB\); run it with --backend onnxruntime/,
    );
  });

  it('runs on ONNX Runtime from an export in a temporary directory, through external data as a model past 2 GiB needs, and removes it', async () => {
    const model = await prepareModel('torch_multihead_attention', ['embed_dim=8', 'num_heads=2'], fixture('mha_weights.safetensors'));
    const inputs = Object.fromEntries(readSafetensorsFile(fixture('mha_inputs.safetensors')).tensors);
    const ours = (e: string) => e.startsWith(`tessera-run-${process.pid}-`);
    const inline = await runOnOnnxRuntime(model.graph, model.weights, 'portable', inputs);
    // the weights (in_proj_weight 768 bytes, out_proj.weight 256) in the data file beside the model, as vit_h_14's 2.5 GB are; shape constants stay inline
    const external = await runOnOnnxRuntime(model.graph, model.weights, 'portable', inputs, { externalData: true, externalThreshold: 256 });
    for (const [name, want] of readSafetensorsFile(fixture('mha_expected.safetensors')).tensors) {
      expect(maxDiff(inline[name]!, want), name).toBeLessThan(1e-5);
      expect(maxDiff(external[name]!, want), name).toBeLessThan(1e-5);
    }
    expect(readdirSync(tmpdir()).filter(ours)).toEqual([]);
  });
});
