/**
 * A latency-bound self-attention: torch.nn.MultiheadAttention(64, 4, batch_first=True) on one
 * sequence of 16 tokens, need_weights=False, on onnxruntime-node: our export with the fusions
 * (each target) and without, and torch.onnx's export of torch's own module with the same weights. Microseconds
 * per run (median of many, the models run in turn), node counts, and the outputs compared.
 *
 * Alone: npx tsx packages/cli/bench/small-attention.ts
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportOnnx } from '@tessera/compiler';
import { maxAbsDiff, randomInputs } from '@tessera/graph-dsl';
import { writeSafetensorsFile } from '@tessera/safetensors';
import type * as Ort from 'onnxruntime-node';
import { prepareModel } from '../src/model.ts';
import { table } from './measure.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);
const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;
const HERE = path.dirname(fileURLToPath(import.meta.url));
const PYTHON = '/usr/bin/python3';
const dir = mkdtempSync(path.join(tmpdir(), 'tessera-small-attention-'));
const [E, H, L] = [64, 4, 16];
const config = [`embed_dim=${E}`, `num_heads=${H}`, 'batch_first=true', 'need_weights=false', 'self_attention=true'];

say(`\ntorch_multihead_attention ${config.join(' ')}, batch 1, ${L} tokens, on onnxruntime-node:`);
const fused = await prepareModel('torch_multihead_attention', config, undefined, 3);
const plain = await prepareModel('torch_multihead_attention', config, undefined, 3, { fuse: false });
const inputs = randomInputs(fused.graph, new Map([['B', 1], ['L', L]]), 1);
const feeds = { query: new ort.Tensor('float32', inputs.query!.data, [...inputs.query!.shape]) };

const models: [string, string][] = [];
const save = (label: string, bytes: Uint8Array) => {
  const file = path.join(dir, `${label}.onnx`);
  writeFileSync(file, bytes);
  models.push([label, file]);
};
save('ours', exportOnnx(fused.graph, { weights: fused.weights }));
save('ours --target onnxruntime', exportOnnx(fused.graph, { weights: fused.weights, target: 'onnxruntime' }));
save('ours --target onnx23', exportOnnx(fused.graph, { weights: fused.weights, target: 'onnx23' }));
save('ours, not fused', exportOnnx(plain.graph, { weights: plain.weights }));
const weightsFile = path.join(dir, 'mha.safetensors');
writeSafetensorsFile(weightsFile, fused.weights);
const torch = spawnSync(PYTHON, [path.join(HERE, 'torch_mha.py'), weightsFile, path.join(dir, 'torch.onnx'), String(E), String(H)], { encoding: 'utf8', cwd: HERE });
if (torch.status === 0) models.push(["torch.onnx's", path.join(dir, 'torch.onnx')]);
else say(`PyTorch side skipped: ${(torch.stderr || 'python3-torch is not installed').trim().split('\n').at(-1)}`);

// Interleaved: one run of each model in turn, many rounds, so that a busy moment of the machine
// falls on all of them alike; the median of each.
const sessions = await Promise.all(models.map(([, file]) => ort.InferenceSession.create(file, { graphOptimizationLevel: 'all' })));
const outputs = await Promise.all(sessions.map(async (session) => {
  const out = (await session.run(feeds)).output!;
  return { dtype: 'float32' as const, shape: out.dims.map(Number), data: Float32Array.from(out.data as Float32Array) };
}));
const samples = sessions.map((): number[] => []);
for (let round = 0; round < 600; round++) {
  for (const [k, session] of sessions.entries()) {
    const t0 = performance.now();
    await session.run(feeds);
    if (round >= 50) samples[k]!.push((performance.now() - t0) * 1000);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const times = new Map(models.map(([label], k) => [label, median(samples[k]!)]));
const rows: string[][] = [['ONNX', 'median us', 'nodes', 'max |diff| vs ours']];
for (const [k, [label, file]] of models.entries()) {
  const nodes = spawnSync(PYTHON, ['-c', 'import onnx, sys; print(len(onnx.load(sys.argv[1]).graph.node))', file], { encoding: 'utf8' }).stdout.trim();
  rows.push([label, times.get(label)!.toFixed(1), nodes || '?', maxAbsDiff(outputs[0]!, outputs[k]!).toExponential(1)]);
}
await Promise.all(sessions.map((s) => s.release()));
say(table(rows));
if (times.has("torch.onnx's")) say(models.filter(([label]) => label !== "torch.onnx's").map(([label]) => `${label} / torch.onnx's: ${(times.get(label)! / times.get("torch.onnx's")!).toFixed(2)}`).join('; '));
