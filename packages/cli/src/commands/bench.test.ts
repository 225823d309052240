import { describe, expect, it } from 'vitest';
import { userErrorOf } from '../cli-testing.ts';
import { main } from '../main.ts';

const MHA = ['torch_multihead_attention', '--config', 'embed_dim=8', 'num_heads=2', 'batch_first=true'];
const quiet = () => {};

const userError = userErrorOf;

describe('tessera bench', () => {
  it('prints the median latency as JSON, fused or not, on tfjs and on ONNX Runtime', async () => {
    for (const backend of ['wasm', 'onnxruntime']) {
      for (const fuse of [[], ['--no-fuse']]) {
        const out = JSON.parse(await main(['bench', ...MHA, '--backend', backend, '--batch', '2', '--runs', '3', '--json', ...fuse], quiet));
        expect(Object.keys(out).sort()).toEqual(['backend', 'batch', 'fused', 'median_ms', 'model', 'runs', 'target']);
        expect(out).toMatchObject({ model: 'torch_multihead_attention', backend, fused: fuse.length === 0, batch: 2, runs: 3 });
        expect(out.median_ms).toBeGreaterThan(0);
      }
    }
  });

  it('times each ONNX target on ONNX Runtime, and says --target is for that backend', async () => {
    for (const target of ['portable', 'onnx23', 'onnxruntime']) {
      const out = JSON.parse(await main(['bench', ...MHA, '--backend', 'onnxruntime', '--target', target, '--runs', '3', '--json'], quiet));
      expect(out).toMatchObject({ backend: 'onnxruntime', target });
    }
    expect(await userError(['bench', ...MHA, '--backend', 'wasm', '--target', 'onnx23'])).toMatch(/--target chooses the ONNX file for --backend onnxruntime/);
    expect(await userError(['bench', ...MHA, '--backend', 'onnxruntime', '--target', 'tensorrt'])).toMatch(/--target tensorrt: expected one of portable, onnx23, onnxruntime/);
  });

  it('refuses a batch or run count that is not a positive whole number', async () => {
    expect(await userError(['bench', ...MHA, '--batch', '0'])).toMatch(/--batch 0: expected a whole number from 1/);
    expect(await userError(['bench', ...MHA, '--runs', 'many'])).toMatch(/--runs many/);
    expect(await userError(['bench', ...MHA, '--backend', 'gpu'])).toMatch(/--backend gpu: expected one of/);
  });
});

describe('tessera compile --explain', () => {
  it("prints each fusion's count and, for a near-match, the rule, the user's source line and the reason", async () => {
    const fused = await main(['compile', ...MHA, '--explain'], quiet);
    expect(fused).toMatch(/^ {2}attention +1$/m);
    expect(fused).toMatch(/^ {2}attention-heads +1$/m);
    expect(fused).toMatch(/^ {2}linear +4$/m);
    const additive = await main(['compile', 'additive_attention', '--explain'], quiet);
    expect(additive).toMatch(/^ {2}attention +0$/m);
    expect(additive).toMatch(/attention: near-match at MatMul %\d+ \(.*additive-attention\.ts:\d+:\d+\): input 0 of MatMul %\d+: input 0 of Softmax/);
    const unfused = await main(['compile', ...MHA, '--explain', '--no-fuse'], quiet);
    expect(unfused).toMatch(/^ {2}attention +0$/m);
  });
});

describe('--no-fuse and --target on export and run', () => {
  it('exports and runs the graph as traced, and each ONNX target, with the same outputs', async () => {
    const { mkdtempSync, readFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const { writeSafetensorsFile, readSafetensorsFile } = await import('@tessera/safetensors');
    const { hostTensor, maxAbsDiff } = await import('@tessera/graph-dsl');
    const dir = mkdtempSync(path.join(tmpdir(), 'tessera-no-fuse-'));
    const at = (f: string) => path.join(dir, f);
    const x = () => hostTensor('float32', [2, 3, 8], Array.from({ length: 48 }, (_, i) => Math.sin(i)));
    writeSafetensorsFile(at('in.safetensors'), new Map([['query', x()], ['key', x()], ['value', x()]]));
    for (const target of ['onnx23', 'onnxruntime']) {
      await main(['run', ...MHA, '--inputs', at('in.safetensors'), '--output', at(`${target}.safetensors`), '--backend', 'onnxruntime', '--target', target], quiet);
    }
    for (const fuse of [[], ['--no-fuse']]) {
      await main(['export', ...MHA, '--onnx', at(`m${fuse.length}.onnx`), ...fuse], quiet);
      await main(['run', ...MHA, '--inputs', at('in.safetensors'), '--output', at(`out${fuse.length}.safetensors`), '--backend', 'wasm', ...fuse], quiet);
    }
    // as traced, Q is divided by sqrt(head_dim) before the product; the fused Attention scales the scores
    const { onnx } = await import('@tessera/compiler');
    const ops = (file: string) => onnx.ModelProto.decode(readFileSync(at(file))).graph!.node!.map((n) => n.opType);
    const [fused, plain] = [ops('m0.onnx'), ops('m1.onnx')];
    expect([plain.includes('Div'), plain.includes('Mul')]).toEqual([true, false]);
    expect([fused.includes('Div'), fused.includes('Mul')]).toEqual([false, true]);
    const [a, b] = [readSafetensorsFile(at('out0.safetensors')).tensors, readSafetensorsFile(at('out1.safetensors')).tensors];
    expect(maxAbsDiff(a.get('output')!, b.get('output')!)).toBeLessThanOrEqual(1e-5);
    for (const target of ['onnx23', 'onnxruntime']) expect(maxAbsDiff(a.get('output')!, readSafetensorsFile(at(`${target}.safetensors`)).tensors.get('output')!), target).toBeLessThanOrEqual(1e-5);
  });
});

describe('an opset Tessera does not write', () => {
  it('is a usage error naming the range', async () => {
    expect(await userErrorOf(['export', ...MHA, '--onnx', '/tmp/never.onnx', '--opset', '99'])).toMatch(/--opset 99: Tessera exports opsets 17 to 23/);
    expect(await userErrorOf(['export', ...MHA, '--onnx', '/tmp/never.onnx', '--opset', '16'])).toMatch(/--opset 16: Tessera exports opsets 17 to 23/);
  });
});

describe('a repeated option', () => {
  it('is refused with both values, not silently the last', async () => {
    expect(await userErrorOf(['bench', ...MHA, '--batch', '2', '--batch', '3'])).toMatch(/--batch is given twice \("2" and "3"\); give it once/);
    expect(await userErrorOf(['bench', 'torch_multihead_attention', '--config', 'embed_dim=8', 'num_heads=2', '--config', 'embed_dim=16'])).toMatch(/config key embed_dim is given twice \(8 and 16\)/);
  });
});
