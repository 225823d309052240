/**
 * Decoding speed of the article's Transformer, with and without the key/value cache, on tfjs
 * and on onnxruntime-node (the same compiled graphs, exported): tokens per second for outputs of
 * 16 and 64 tokens. Without the cache every step reruns the whole decoder over the prefix
 * (quadratic in the length); with it each step runs one token through the one-step decoder.
 * Then the cached decoding again with the compiler's fusions on and off.
 */
import { createRequire } from 'node:module';
import { compile, exportOnnx } from '@tessera/compiler';
import { type Graph, type HostTensor, hostTensor, initialWeights, trace } from '@tessera/graph-dsl';
import { buildModel, TRANSFORMER_DEFAULTS } from '@tessera/models';
import { Session } from '@tessera/runtime-tfjs';
import type * as Ort from 'onnxruntime-node';
import { cacheOutputs, ortEngine, type StepEngine, tfjsEngine } from '../src/seq2seq/translator.ts';
import { table } from './measure.ts';

const say = (line: string) => process.stdout.write(`${line}\n`);
const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;

const D = 128;
const model = { ...TRANSFORMER_DEFAULTS, src_vocab: 32, tgt_vocab: 30, d_model: D, dim_feedforward: 4 * D, dropout: 0 };
const graphs = { encoder: (fuse = true) => compiled('transformer_encoder', fuse), step: (fuse = true) => compiled('transformer_decoder_step', fuse), full: () => compiled('transformer', true) };
function compiled(name: string, fuse: boolean): Graph {
  const { built } = buildModel(name, model);
  return compile(trace(built.module, built.inputs, built.outputs), { fuse }).graph;
}
const full = graphs.full();
const weights = initialWeights(full, 1);
const layers = 2;
const S = 10;
const src = hostTensor('int32', [1, S], Array.from({ length: S }, (_, i) => 4 + (i % 20)));
const lens = hostTensor('int32', [1], [S]);
const argmax = (t: HostTensor, offset: number, n: number) => {
  let best = 0;
  for (let i = 1; i < n; i++) if (t.data[offset + i]! > t.data[offset + best]!) best = i;
  return best;
};

/** Decodes exactly n tokens (no early <eos>) with the cached step. */
async function cached(engine: StepEngine, n: number): Promise<number[]> {
  const { enc_outputs } = await engine.encode({ src, src_valid_lens: lens });
  let cache: Record<string, HostTensor> = {};
  for (let i = 0; i < layers; i++) cache = { ...cache, [`cache_k_${i}`]: hostTensor('float32', [1, 0, D]), [`cache_v_${i}`]: hostTensor('float32', [1, 0, D]) };
  const out: number[] = [];
  let token = 1;
  for (let t = 0; t < n; t++) {
    const r = await engine.step({ token: hostTensor('int32', [1, 1], [token]), position: hostTensor('int32', [1], [t]), enc_outputs: enc_outputs!, src_valid_lens: lens, ...cache }, ['logits', ...cacheOutputs(layers)]);
    for (let i = 0; i < layers; i++) cache = { ...cache, [`cache_k_${i}`]: r[`new_cache_k_${i}`]!, [`cache_v_${i}`]: r[`new_cache_v_${i}`]! };
    token = argmax(r.logits!, 0, 30);
    out.push(token);
  }
  return out;
}

/** Decodes n tokens by rerunning the full teacher-forced forward on the growing prefix. */
async function uncached(run: (feeds: Record<string, HostTensor>) => Promise<Record<string, HostTensor>>, n: number): Promise<number[]> {
  const prefix = [1];
  for (let t = 0; t < n; t++) {
    const r = await run({ src, src_valid_lens: lens, tgt: hostTensor('int32', [1, prefix.length], prefix) });
    prefix.push(argmax(r.logits!, t * 30, 30));
  }
  return prefix.slice(1);
}

async function tokensPerSecond(decode: () => Promise<number[]>, n: number): Promise<{ rate: number; tokens: number[] }> {
  await decode(); // warm up
  const times: number[] = [];
  let tokens: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    tokens = await decode();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { rate: n / (times[1]! / 1000), tokens };
}

say(`\nTransformer decoding (d_model ${D}, 4 heads, 2+2 layers, ffn ${4 * D}, batch 1, source 10 tokens): tokens/s with and without the KV cache`);
const tfEngine = await tfjsEngine(graphs.encoder(), graphs.step(), weights);
const ortCachedEngine = await ortEngine(graphs.encoder(), graphs.step(), weights);
const fullSession = await Session.create(full, { weights });
const fullOrt = await ort.InferenceSession.create(exportOnnx(full, { weights }), { graphOptimizationLevel: 'all' });
const runOrtFull = async (feeds: Record<string, HostTensor>) => {
  const r = await fullOrt.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor(t.dtype, t.data, [...t.shape])])), ['logits']);
  return { logits: { dtype: 'float32', shape: r.logits!.dims.map(Number), data: r.logits!.data as Float32Array } as HostTensor };
};
const rows: string[][] = [['runtime', 'tokens', 'no cache tok/s', 'cache tok/s', 'cache / no cache']];
for (const n of [16, 64]) {
  for (const [name, engine, run] of [['tfjs', tfEngine, (f: Record<string, HostTensor>) => fullSession.run(f)], ['onnxruntime-node', ortCachedEngine, runOrtFull]] as const) {
    const withCache = await tokensPerSecond(() => cached(engine, n), n);
    const without = await tokensPerSecond(() => uncached(run, n), n);
    if (withCache.tokens.join() !== without.tokens.join()) say(`warning: ${name} decoded different tokens with and without the cache`);
    rows.push([name, String(n), without.rate.toFixed(0), withCache.rate.toFixed(0), `${(withCache.rate / without.rate).toFixed(2)}x`]);
  }
}
say(table(rows));

say(`\nthe same cached decoding, 64 tokens, with the compiler's fusions on and off`);
const fusionRows: string[][] = [['runtime', 'fused tok/s', 'not fused tok/s', 'fused / not fused']];
for (const [name, make] of [['tfjs', tfjsEngine], ['onnxruntime-node', ortEngine]] as const) {
  const [fusedEngine, plainEngine] = [name === 'tfjs' ? tfEngine : ortCachedEngine, await make(graphs.encoder(false), graphs.step(false), weights)];
  const fused = await tokensPerSecond(() => cached(fusedEngine, 64), 64);
  const plain = await tokensPerSecond(() => cached(plainEngine, 64), 64);
  if (fused.tokens.join() !== plain.tokens.join()) say(`warning: ${name} decoded different tokens fused and not fused`);
  fusionRows.push([name, fused.rate.toFixed(0), plain.rate.toFixed(0), `${(fused.rate / plain.rate).toFixed(2)}x`]);
  await plainEngine.dispose();
}
say(table(fusionRows));
await tfEngine.dispose();
await ortCachedEngine.dispose();
await fullOrt.release();
fullSession.dispose();
