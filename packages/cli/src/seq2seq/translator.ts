/**
 * The article's Transformer used as a translator: data to tensors, teacher-forced training with
 * the masked cross-entropy, and decoding (greedy or beam search) that reuses each block's cached
 * keys and values through the compiled one-step decoder, on tfjs or on ONNX Runtime.
 */
import { compile, encodeModel, exportOnnx, exportOnnxModel, type ModelProto } from '@tessera/compiler';
import { type Graph, type HostTensor, hostTensor, initialWeights, trace } from '@tessera/graph-dsl';
import { buildModel, type BuiltModel, type Config, ConfigError, resolveConfig, TRANSFORMER_DEFAULTS, transformerGraphs } from '@tessera/models';
import * as tf from '@tensorflow/tfjs-core';
import { Session, toTf } from '@tessera/runtime-tfjs';
import { INT8_OPS, int8Nodes, quantizedPair, weightsOf } from '../int8-held-out.ts';
import { type Pair, tokenize } from './corpus.ts';
import { truncatePad, Vocab } from './vocab.ts';

/** A translator: its model config, step count and two vocabularies (what a checkpoint's config.json holds). */
export interface TranslatorSpec {
  readonly model: Config;
  readonly numSteps: number;
  readonly srcVocab: readonly string[];
  readonly tgtVocab: readonly string[];
}

export class TranslationError extends Error {
  override name = 'TranslationError';
}

const compiled = (b: BuiltModel, mode: 'eval' | 'train' = 'eval'): Graph => compile(trace(b.module, b.inputs, b.outputs), { mode }).graph;

/** The graphs of a translator, compiled once: training loss, encoder, one decoder step, and the full forward (decoding without a cache). */
export function translatorGraphs(spec: TranslatorSpec, labelSmoothing = 0) {
  const config = resolveConfig('transformer', { ...TRANSFORMER_DEFAULTS, label_smoothing: 0 }, {}, { ...spec.model, label_smoothing: labelSmoothing });
  if (config.src_vocab !== spec.srcVocab.length || config.tgt_vocab !== spec.tgtVocab.length) {
    throw new ConfigError(`the model's vocabularies (${config.src_vocab}, ${config.tgt_vocab}) do not match the vocabularies given (${spec.srcVocab.length}, ${spec.tgtVocab.length})`);
  }
  const g = transformerGraphs(config);
  return {
    config,
    layers: g.model.decoder.blks.length,
    train: () => compiled(g.train, 'train'),
    encoder: () => compiled(g.encoder),
    decoderStep: () => compiled(g.decoderStep),
    full: () => compiled(buildModel('transformer', spec.model).built),
  };
}

/** A batch in the model's input names: source ids with lengths, decoder input (<bos> + target), labels (target + <eos>) with lengths. */
export interface Batch {
  readonly src: HostTensor<'int32'>;
  readonly src_valid_lens: HostTensor<'int32'>;
  readonly tgt: HostTensor<'int32'>;
  readonly labels: HostTensor<'int32'>;
  readonly label_valid_lens: HostTensor<'int32'>;
}

/** Sentences to padded id rows (d2l's build_array_nmt): tokens + <eos>, truncated or padded to numSteps, with valid lengths. */
export function toBatch(pairs: readonly Pair[], src: Vocab, tgt: Vocab, numSteps: number): Batch {
  const B = pairs.length;
  const rows = (sentences: string[], v: Vocab) => sentences.map((s) => truncatePad([...v.encode(tokenize(s)), v.eos], numSteps, v.pad));
  const srcRows = rows(pairs.map((p) => p.source), src);
  const labelRows = rows(pairs.map((p) => p.target), tgt);
  const lens = (rs: number[][], pad: number) => rs.map((r) => r.filter((t) => t !== pad).length);
  const tgtRows = labelRows.map((r) => [tgt.bos, ...r.slice(0, -1)]);
  return {
    src: hostTensor('int32', [B, numSteps], srcRows.flat()),
    src_valid_lens: hostTensor('int32', [B], lens(srcRows, src.pad)),
    tgt: hostTensor('int32', [B, numSteps], tgtRows.flat()),
    labels: hostTensor('int32', [B, numSteps], labelRows.flat()),
    label_valid_lens: hostTensor('int32', [B], lens(labelRows, tgt.pad)),
  };
}

/** Builds both vocabularies and the spec of a new translator from training pairs. */
export function newSpec(pairs: readonly Pair[], model: readonly string[] | Config, numSteps: number): TranslatorSpec {
  const srcVocab = Vocab.build(pairs.map((p) => tokenize(p.source)));
  const tgtVocab = Vocab.build(pairs.map((p) => tokenize(p.target)));
  const config = resolveConfig('transformer', TRANSFORMER_DEFAULTS, {}, model);
  return { model: { ...config, src_vocab: srcVocab.size, tgt_vocab: tgtVocab.size }, numSteps, srcVocab: srcVocab.tokens, tgtVocab: tgtVocab.tokens };
}

/** Initial weights of a translator (seeded), by state_dict name. */
export function initialTranslatorWeights(trainGraph: Graph, seed: number): Map<string, HostTensor> {
  return initialWeights(trainGraph, seed);
}

/** Where the decoder step runs: the same compiled graphs on the tfjs runtime or, exported, on ONNX Runtime. */
export interface StepEngine {
  readonly name: string;
  encode(feeds: Record<string, HostTensor>): Promise<Record<string, HostTensor>>;
  /** One decoder step; `fetch` names the outputs wanted (all when absent). */
  step(feeds: Record<string, HostTensor>, fetch?: readonly string[]): Promise<Record<string, HostTensor>>;
  dispose(): Promise<void>;
}

/** The two halves as ONNX files' bytes: the encoder, and the one-step decoder with its cache as inputs and outputs. */
export function exportHalves(spec: TranslatorSpec, weights: ReadonlyMap<string, HostTensor>): { encoder: Uint8Array; decoderStep: Uint8Array } {
  const graphs = translatorGraphs(spec);
  const [encoder, step] = [graphs.encoder(), graphs.decoderStep()];
  return { encoder: exportOnnx(encoder, { weights: weightsOf(encoder, weights), modelName: 'transformer_encoder' }), decoderStep: exportOnnx(step, { weights: weightsOf(step, weights), modelName: 'transformer_decoder_step' }) };
}

/**
 * The tfjs engine keeps what it returns on the device: an output is a host tensor whose data is
 * read only if someone looks at it, and when it comes back as an input (the encoder outputs, the
 * caches) the device tensor is used as it is. A cache fed back is freed after the step that read
 * it; the rest when the engine is disposed.
 */
export async function tfjsEngine(encoder: Graph, step: Graph, weights: ReadonlyMap<string, HostTensor>): Promise<StepEngine> {
  const [e, s] = [await Session.create(encoder, { weights: weightsOf(encoder, weights) }), await Session.create(step, { weights: weightsOf(step, weights) })];
  const onDevice = new WeakMap<HostTensor, tf.Tensor>();
  const live = new Set<tf.Tensor>();
  const lazy = (t: tf.Tensor): HostTensor => {
    let data: HostTensor['data'] | undefined;
    const host = { dtype: t.dtype, shape: t.shape, get data() { return (data ??= t.dataSync() as HostTensor['data']); } } as HostTensor;
    onDevice.set(host, t);
    live.add(t);
    return host;
  };
  const run = async (session: Session, feeds: Record<string, HostTensor>, fetch?: readonly string[]) => {
    const uploaded: tf.Tensor[] = [];
    const consumed: tf.Tensor[] = [];
    const inputs = Object.fromEntries(Object.entries(feeds).map(([k, h]) => {
      const t = onDevice.get(h);
      if (t && !t.isDisposed) {
        if (k.startsWith('cache_')) consumed.push(t);
        return [k, t];
      }
      const u = toTf(h);
      uploaded.push(u);
      return [k, u];
    }));
    try {
      const out = session.runTensors(inputs);
      return Object.fromEntries(Object.entries(out).flatMap(([k, t]) => {
        if (fetch && !fetch.includes(k)) {
          t.dispose();
          return [];
        }
        return [[k, lazy(t)]];
      }));
    } finally {
      tf.dispose(uploaded);
      for (const t of consumed) {
        live.delete(t);
        t.dispose();
      }
    }
  };
  return {
    name: `tfjs ${e.backend.name}`,
    encode: (f) => run(e, f),
    step: (f, fetch) => run(s, f, fetch),
    dispose: async () => {
      tf.dispose([...live]);
      live.clear();
      e.dispose();
      s.dispose();
    },
  };
}

/** The fp32 export of both halves on ONNX Runtime. */
export const ortEngine = (encoder: Graph, step: Graph, weights: ReadonlyMap<string, HostTensor>): Promise<StepEngine> =>
  onnxEngine('onnxruntime-node', exportOnnxModel(encoder, { weights: weightsOf(encoder, weights) }), exportOnnxModel(step, { weights: weightsOf(step, weights) }));

/** Both halves quantized by one pass, `tessera export --quantize dynamic`'s, on ONNX Runtime; its name says how many matmuls are int8. */
export function int8Engine(encoder: Graph, step: Graph, weights: ReadonlyMap<string, HostTensor>): Promise<StepEngine> {
  const [e, s] = [quantizedPair(encoder, weights), quantizedPair(step, weights)];
  return onnxEngine(`onnxruntime-node int8 (${e.quantized + s.quantized} of ${e.matmuls + s.matmuls} matmuls, ${int8Nodes(e.int8) + int8Nodes(s.int8)} ${INT8_OPS.join('/')} nodes)`, e.int8, s.int8);
}

/** The encoder and the decoder step as ONNX models on onnxruntime-node. */
async function onnxEngine(name: string, encoder: ModelProto, step: ModelProto): Promise<StepEngine> {
  const { createRequire } = await import('node:module');
  const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof import('onnxruntime-node');
  const open = (m: ModelProto) => ort.InferenceSession.create(encodeModel(m), { graphOptimizationLevel: 'all' });
  const [e, s] = [await open(encoder), await open(step)];
  const run = async (session: Awaited<ReturnType<typeof open>>, feeds: Record<string, HostTensor>, fetch?: readonly string[]) => {
    const given = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, new ort.Tensor(t.dtype, t.data, [...t.shape])]));
    const out = fetch ? await session.run(given, [...fetch]) : await session.run(given);
    // ORT's output buffers are the caller's from here on: no copy.
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, { dtype: t.type === 'float32' ? 'float32' : 'int32', shape: t.dims.map(Number), data: t.data } as HostTensor]));
  };
  return { name, encode: (f) => run(e, f), step: (f, fetch) => run(s, f, fetch), dispose: async () => { await e.release(); await s.release(); } };
}

export interface DecodeOptions {
  /** Longest output in tokens (default: the step count). */
  readonly maxLen?: number;
  /** Beam width; 1 is greedy. */
  readonly beam?: number;
  /** Keep the encoder-decoder attention of this decoder block (averaged over heads), per output step. */
  readonly attentionLayer?: number;
}

export interface Translation {
  readonly tokens: readonly string[];
  /** (output steps, source tokens) cross-attention of the chosen layer. */
  readonly attention?: readonly (readonly number[])[];
  /** The source tokens the attention columns stand for (with <eos>). */
  readonly sourceTokens: readonly string[];
  /** Source words the vocabulary does not know (read as <unk>). */
  readonly unknown: readonly string[];
}

/** Source sentence to ids (+ <eos>), with the checks a user's sentence needs. */
export function encodeSource(sentence: string, vocab: Vocab, maxLen: number): { ids: number[]; tokens: string[]; unknown: string[] } {
  const tokens = tokenize(sentence);
  if (tokens.length === 0) throw new TranslationError('the sentence is empty: there is nothing to translate');
  if (tokens.length + 1 > maxLen) throw new TranslationError(`the sentence has ${tokens.length} tokens; with <eos> that is more than the ${maxLen} positions of the positional encoding (max_len)`);
  return { ids: [...vocab.encode(tokens), vocab.eos], tokens: [...tokens, '<eos>'], unknown: vocab.unknown(tokens) };
}

/**
 * Translates sentences: the encoder runs once per sentence batch, then the decoder step runs once
 * per output token with the caches it returned. Greedy decoding batches all sentences; beam
 * search decodes one sentence at a time with its beams as the batch.
 */
export async function translate(engine: StepEngine, spec: TranslatorSpec, layers: number, sentences: readonly string[], options: DecodeOptions = {}): Promise<Translation[]> {
  const src = new Vocab(spec.srcVocab);
  const tgt = new Vocab(spec.tgtVocab);
  const maxLen = options.maxLen ?? spec.numSteps;
  const encoded = sentences.map((s) => encodeSource(s, src, spec.model.max_len as number));
  if ((options.beam ?? 1) > 1) {
    const out: Translation[] = [];
    for (const e of encoded) out.push({ ...(await beamSearch(engine, e.ids, tgt, layers, spec, maxLen, options.beam!)), sourceTokens: e.tokens, unknown: e.unknown });
    return out;
  }
  const B = encoded.length;
  const S = Math.max(...encoded.map((e) => e.ids.length));
  const srcT = hostTensor('int32', [B, S], encoded.flatMap((e) => truncatePad(e.ids, S, src.pad)));
  const lens = hostTensor('int32', [B], encoded.map((e) => e.ids.length));
  const { enc_outputs } = await engine.encode({ src: srcT, src_valid_lens: lens });
  const d = spec.model.d_model as number;
  let cache = emptyCache(layers, B, d);
  let tokens = Array<number>(B).fill(tgt.bos);
  const outputs: number[][] = Array.from({ length: B }, () => []);
  const done = Array<boolean>(B).fill(false);
  const attention: number[][][] = Array.from({ length: B }, () => []);
  const heads = spec.model.nhead as number;
  const fetch = ['logits', ...cacheOutputs(layers), ...(options.attentionLayer !== undefined ? [`cross_attention_${options.attentionLayer}`] : [])];
  for (let t = 0; t < maxLen && !done.every(Boolean); t++) {
    const out = await engine.step({ token: hostTensor('int32', [B, 1], tokens), position: hostTensor('int32', [1], [t]), enc_outputs: enc_outputs!, src_valid_lens: lens, ...cache }, fetch);
    cache = nextCache(out, layers);
    const V = tgt.size;
    tokens = Array.from({ length: B }, (_, b) => argmax(out.logits!.data, b * V, V));
    tokens.forEach((id, b) => {
      if (done[b]) return;
      if (options.attentionLayer !== undefined) attention[b]!.push(headMean(out[`cross_attention_${options.attentionLayer}`]!, b, heads, S).slice(0, encoded[b]!.ids.length));
      if (id === tgt.eos) done[b] = true;
      else outputs[b]!.push(id);
    });
  }
  return encoded.map((e, b) => ({ tokens: tgt.decode(outputs[b]!), sourceTokens: e.tokens, unknown: e.unknown, ...(options.attentionLayer !== undefined ? { attention: attention[b]! } : {}) }));
}

function emptyCache(layers: number, B: number, d: number): Record<string, HostTensor> {
  return Object.fromEntries(Array.from({ length: layers }, (_, i) => [[`cache_k_${i}`, hostTensor('float32', [B, 0, d])], [`cache_v_${i}`, hostTensor('float32', [B, 0, d])]]).flat());
}

/** The names of the step's cache outputs. */
export function cacheOutputs(layers: number): string[] {
  return Array.from({ length: layers }, (_, i) => [`new_cache_k_${i}`, `new_cache_v_${i}`]).flat();
}

function nextCache(out: Record<string, HostTensor>, layers: number): Record<string, HostTensor> {
  return Object.fromEntries(Array.from({ length: layers }, (_, i) => [[`cache_k_${i}`, out[`new_cache_k_${i}`]!], [`cache_v_${i}`, out[`new_cache_v_${i}`]!]]).flat());
}

/** The index of the largest of data[offset .. offset + n). */
export function argmax(data: ArrayLike<number>, offset: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (data[offset + i]! > data[offset + best]!) best = i;
  return best;
}

/** Row b of (B*heads, 1, S) attention averaged over its heads. */
function headMean(w: HostTensor, b: number, heads: number, S: number): number[] {
  const row = Array<number>(S).fill(0);
  for (let h = 0; h < heads; h++) for (let s = 0; s < S; s++) row[s]! += w.data[(b * heads + h) * S + s]! / heads;
  return row;
}

/** Rows of a (B, t, d) cache, reordered (beam search keeps the caches of the beams it keeps). */
function selectRows(t: HostTensor, rows: readonly number[]): HostTensor {
  const per = t.shape.slice(1).reduce((a, b) => a * b, 1);
  const data = new Float32Array(rows.length * per);
  rows.forEach((r, i) => data.set((t.data as Float32Array).subarray(r * per, (r + 1) * per), i * per));
  return { dtype: 'float32', shape: [rows.length, ...t.shape.slice(1)], data };
}

/** Beam search over one sentence; hypotheses are ranked by log P / L^0.75 (d2l's length penalty). */
async function beamSearch(engine: StepEngine, ids: number[], tgt: Vocab, layers: number, spec: TranslatorSpec, maxLen: number, width: number): Promise<{ tokens: string[] }> {
  const S = ids.length;
  const { enc_outputs } = await engine.encode({ src: hostTensor('int32', [1, S], ids), src_valid_lens: hostTensor('int32', [1], [S]) });
  const d = spec.model.d_model as number;
  const V = tgt.size;
  let beams = [{ tokens: [] as number[], logp: 0 }];
  let cache = emptyCache(layers, 1, d);
  const finished: { tokens: number[]; score: number }[] = [];
  const encFor = (n: number) => selectRows(enc_outputs!, Array<number>(n).fill(0));
  for (let t = 0; t < maxLen && beams.length > 0; t++) {
    const n = beams.length;
    const last = beams.map((b) => b.tokens.at(-1) ?? tgt.bos);
    const out = await engine.step({ token: hostTensor('int32', [n, 1], last), position: hostTensor('int32', [1], [t]), enc_outputs: encFor(n), src_valid_lens: hostTensor('int32', [n], Array<number>(n).fill(S)), ...cache }, ['logits', ...cacheOutputs(layers)]);
    const candidates: { beam: number; id: number; logp: number }[] = [];
    for (let b = 0; b < n; b++) {
      const row = out.logits!.data.subarray(b * V, (b + 1) * V) as Float32Array;
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
      for (let id = 0; id < V; id++) candidates.push({ beam: b, id, logp: beams[b]!.logp + row[id]! - lse });
    }
    candidates.sort((a, b) => b.logp - a.logp);
    const next: { beam: number; id: number; logp: number }[] = [];
    for (const c of candidates) {
      if (next.length >= width) break;
      if (c.id === tgt.eos) {
        const tokens = beams[c.beam]!.tokens;
        finished.push({ tokens, score: c.logp / Math.max(1, tokens.length + 1) ** 0.75 });
      } else next.push(c);
    }
    // Stop once the best finished hypothesis beats every live one.
    const bestDone = Math.max(...finished.map((f) => f.score), -Infinity);
    const live = next.map((c) => ({ tokens: [...beams[c.beam]!.tokens, c.id], logp: c.logp, from: c.beam })).filter((b) => b.logp / (b.tokens.length + 1) ** 0.75 > bestDone);
    beams = live.map(({ tokens, logp }) => ({ tokens, logp }));
    const keep = live.map((b) => b.from);
    const grown = nextCache(out, layers);
    cache = Object.fromEntries(Object.entries(grown).map(([k, v]) => [k, selectRows(v, keep)]));
  }
  for (const b of beams) finished.push({ tokens: b.tokens, score: b.logp / Math.max(1, b.tokens.length) ** 0.75 });
  finished.sort((a, b) => b.score - a.score);
  return { tokens: tgt.decode(finished[0]?.tokens ?? []) };
}
