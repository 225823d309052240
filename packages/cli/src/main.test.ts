import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { type HostTensor, hostTensor, initialWeights, trace } from '@tessera/graph-dsl';
import { buildModel } from '@tessera/models';
import { readSafetensorsFile, writeSafetensorsFile } from '@tessera/safetensors';
import { runCli, runProcess } from './cli-testing.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'tessera-cli-'));
const at = (name: string) => path.join(dir, name);
const quiet = () => {};
const MHA = ['torch_multihead_attention', '--config', 'embed_dim=8', 'num_heads=2', 'batch_first=true'];

/** Runs the CLI in-process; returns its output or the user error it reports (a bug would rethrow). */
const cli = (...argv: string[]) => runCli(argv, quiet);

beforeAll(() => {
  const { built } = buildModel('torch_multihead_attention', ['embed_dim=8', 'num_heads=2', 'batch_first=true']);
  writeSafetensorsFile(at('w.safetensors'), initialWeights(trace(built.module, built.inputs, built.outputs), 7));
  const x = () => hostTensor('float32', [2, 3, 8], Array.from({ length: 48 }, (_, i) => Math.cos(i)));
  writeSafetensorsFile(at('in.safetensors'), new Map([['query', x()], ['key', x()], ['value', x()]]));
  writeFileSync(at('corrupt.safetensors'), 'not a safetensors file at all');
});

describe('tessera list and summary', () => {
  it('lists the catalog', async () => {
    const { out } = await cli('list');
    expect(out).toMatch(/^torch_multihead_attention\s+torch\.nn\.MultiheadAttention/m);
    expect(out).toMatch(/^masked_softmax\s/m);
  });
  it('summarizes inputs, outputs, layers, parameters and FLOPs', async () => {
    const { out } = await cli('summary', ...MHA);
    expect(out).toContain('query: f32[B, L, 8]');
    expect(out).toContain('attn_weights: f32[B, L, S]');
    // torch's class of MultiheadAttention's out_proj, a Linear whose bias starts at 0
    expect(out).toMatch(/out_proj\s+NonDynamicallyQuantizableLinear\s+f32\[B, L, 8\]\s+72/);
    expect(out).toContain('parameters: 288 (288)');
    const json = JSON.parse((await cli('summary', ...MHA, '--json')).out!);
    expect(json.parameters).toBe(3 * 8 * 8 + 3 * 8 + 8 * 8 + 8);
    expect(json.flops).toMatch(/B\*L/);
  });
});

describe('tessera compile', () => {
  it('prints the compiled IR with source lines and the passes', async () => {
    const { out } = await cli('compile', 'masked_softmax');
    expect(out).toMatch(/graph\(%X: f32\[B, 2, 4\], %valid_lens: i32\[B\]\)/);
    expect(out).toMatch(/Softmax\[axis=2\]\(%\d+\)\s+# .*masked-softmax\.ts:\d+/);
    expect(out).toMatch(/^constant-fold\s+\d+ -> \d+/m);
  });
});

describe('tessera run and export', () => {
  it('runs on tfjs and on onnxruntime with the same numbers', async () => {
    const tfjs = await cli('run', ...MHA, '--weights', at('w.safetensors'), '--inputs', at('in.safetensors'), '--output', at('tfjs.safetensors'));
    expect(tfjs.out).toMatch(/ran torch_multihead_attention on tfjs (wasm|cpu|tfjs-node): output f32\[2, 3, 8\], attn_weights f32\[2, 3, 3\]/);
    const ort = await cli('run', ...MHA, '--weights', at('w.safetensors'), '--inputs', at('in.safetensors'), '--output', at('ort.safetensors'), '--backend', 'onnxruntime');
    expect(ort.out).toContain('onnxruntime-node');
    const a = readSafetensorsFile(at('tfjs.safetensors')).tensors.get('output')!;
    const b = readSafetensorsFile(at('ort.safetensors')).tensors.get('output')!;
    const diff = Math.max(...Array.from(a.data, (v, i) => Math.abs(v - b.data[i]!)));
    expect(diff).toBeLessThanOrEqual(1e-5);
  });
  it('exports ONNX', async () => {
    const { out } = await cli('export', ...MHA, '--onnx', at('m.onnx'));
    expect(out).toContain(`wrote ${at('m.onnx')}`);
    expect(existsSync(at('m.onnx'))).toBe(true);
  });
});

describe('the tessera command', () => {
  it('prints one paragraph on stderr and exits 1 on bad input, 0 on success', async () => {
    const bin = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'tessera.mjs');
    const bad = await runProcess(process.execPath, [bin, 'summary', 'bert']);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/^error: unknown model 'bert'; the catalog has: masked_softmax, [^\n]*\n$/);
    const good = await runProcess(process.execPath, [bin, 'list']);
    expect(good.status).toBe(0);
    expect(good.stdout).toMatch(/^masked_softmax /);
  });

  it("resolves paths against the caller's directory when pnpm -C REPO exec tessera runs it in the repository's root", async () => {
    const bin = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'tessera.mjs');
    const root = path.resolve(path.dirname(bin), '../../..');
    const caller = mkdtempSync(path.join(tmpdir(), 'tessera-caller-'));
    // as pnpm runs it: in the root, with INIT_CWD the directory the command was typed in
    const r = await runProcess(process.execPath, [bin, 'export', ...MHA, '--onnx', 'rel.onnx'], { cwd: root, env: { ...process.env, INIT_CWD: caller } });
    expect(r.stderr).toBe('');
    expect(existsSync(path.join(caller, 'rel.onnx'))).toBe(true);
    expect(existsSync(path.join(root, 'rel.onnx'))).toBe(false);
  });
});

describe('bad input gets a clear error and writes nothing', () => {
  const cases: [string, string[], RegExp][] = [
    ['an unknown model', ['summary', 'bert'], /unknown model 'bert'; the catalog has: .*torch_multihead_attention/],
    ['an unknown config key', ['summary', 'torch_multihead_attention', '--config', 'embed_size=8'], /model 'torch_multihead_attention' has no config key 'embed_size'; its keys are: embed_dim, num_heads/],
    ['a config value of the wrong kind', ['summary', 'torch_multihead_attention', '--config', 'num_heads=two'], /config num_heads=two is not valid: expected a number/],
    ['heads that do not divide the width', ['summary', 'torch_multihead_attention', '--config', 'embed_dim=10', 'num_heads=3'], /embed_dim \(10\) must be divisible by num_heads \(3\)/],
    ['an unknown option', ['summary', 'masked_softmax', '--weight', 'x'], /has no option --weight; it takes --config, --weights, --json/],
    ['a missing weights file', ['summary', 'torch_multihead_attention', '--weights', '/nonexistent/w.safetensors'], /no such file.*\/nonexistent\/w\.safetensors|\/nonexistent\/w\.safetensors.*no such file/i],
  ];
  for (const [what, argv, message] of cases) {
    it(what, async () => {
      const { error } = await cli(...argv);
      expect(error).toMatch(message);
    });
  }

  it('weights with a missing key, an extra key and a wrong shape', async () => {
    const weights = readSafetensorsFile(at('w.safetensors')).tensors;
    weights.delete('out_proj.bias');
    weights.set('in_proj_weight', hostTensor('float32', [8, 8]));
    weights.set('bias_k', hostTensor('float32', [1, 1, 8]));
    writeSafetensorsFile(at('bad-w.safetensors'), weights);
    const { error } = await cli('run', ...MHA, '--weights', at('bad-w.safetensors'), '--inputs', at('in.safetensors'), '--output', at('never1.safetensors'));
    expect(error).toContain(`the weights in ${at('bad-w.safetensors')} do not fit the model's 4 parameters`);
    expect(error).toContain('1 missing (out_proj.bias [8])');
    expect(error).toContain('1 unexpected (bias_k [1, 1, 8])');
    expect(error).toContain('1 with the wrong shape or dtype (in_proj_weight: expected [24, 8], got [8, 8])');
    expect(existsSync(at('never1.safetensors'))).toBe(false);
  });

  it('inputs with a wrong name, dtype or shape', async () => {
    const x = hostTensor('float32', [2, 3, 8]);
    const run = async (inputs: Map<string, HostTensor>) => {
      writeSafetensorsFile(at('bad-in.safetensors'), inputs);
      const { error } = await cli('run', ...MHA, '--inputs', at('bad-in.safetensors'), '--output', at('never2.safetensors'));
      expect(existsSync(at('never2.safetensors'))).toBe(false);
      return error;
    };
    expect(await run(new Map([['query', x], ['keys', x], ['value', x]]))).toBe(
      `inputs ${at('bad-in.safetensors')}: unknown input 'keys' (float32 [2, 3, 8]): the graph's inputs are query: float32 [B, L, 8], key: float32 [B, S, 8], value: float32 [B, S, 8].`,
    );
    expect(await run(new Map<string, HostTensor>([['query', x], ['key', hostTensor('int32', [2, 3, 8])], ['value', x]]))).toContain(
      "input 'key' must be float32 [B, S, 8], but a int32 [2, 3, 8] tensor was given: wrong dtype",
    );
    expect(await run(new Map([['query', x], ['key', x], ['value', hostTensor('float32', [2, 4, 8])]]))).toContain(
      "input 'value' must be float32 [B, S, 8], which is [2, 3, 8] with B=2 from input 'query' dim 0, S=3 from input 'key' dim 1, but a float32 [2, 4, 8] tensor was given: dimension 1 is 4, expected 3.",
    );
  });

  it('a corrupt safetensors file', async () => {
    const { error } = await cli('run', ...MHA, '--inputs', at('corrupt.safetensors'), '--output', at('never3.safetensors'));
    expect(error).toContain(at('corrupt.safetensors'));
    expect(existsSync(at('never3.safetensors'))).toBe(false);
  });

  it('an ONNX path that cannot be written', async () => {
    const { error } = await cli('export', ...MHA, '--onnx', path.join(dir, 'no-such-dir', 'm.onnx'));
    expect(error).toMatch(/no-such-dir/);
  });
});
