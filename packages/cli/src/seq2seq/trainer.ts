/** Teacher-forced training of a translator: Adam, gradient clipping by global norm, dropout in training mode only. */
import * as tf from '@tensorflow/tfjs-core';
import { type Graph, type HostTensor, seededRandom } from '@tessera/graph-dsl';
import { fromTf, Session, toTf } from '@tessera/runtime-tfjs';
import { bleu } from './bleu.ts';
import type { TrainingState } from './checkpoint.ts';
import { type Pair, tokenize } from './corpus.ts';
import { type StepEngine, toBatch, translatorGraphs, type TranslatorSpec, tfjsEngine, translate } from './translator.ts';
import { Vocab } from './vocab.ts';

export interface TrainOptions {
  readonly epochs: number;
  readonly lr: number;
  readonly batchSize: number;
  readonly labelSmoothing: number;
  readonly clipNorm: number;
  readonly seed: number;
  /** Called after every batch: epoch (1-based), batch index, batches per epoch, running mean loss, target tokens per second. */
  readonly onBatch?: (p: { epoch: number; batch: number; batches: number; loss: number; tokensPerSecond: number }) => void;
  /** Called after every epoch with its mean loss. */
  readonly onEpoch?: (epoch: number, loss: number) => void;
  /** Called with the state after every epoch, and after the step at which `stopRequested` said yes. */
  readonly onCheckpoint?: (state: TrainState) => void;
  /** Asked after every step; yes ends the run there (an interrupt), with a checkpoint of where it stopped. */
  readonly stopRequested?: () => boolean;
}

/** The weights, Adam's state and where the run is: what a checkpoint holds. */
export interface TrainState {
  readonly weights: Map<string, HostTensor>;
  readonly optimizerState: readonly HostTensor[];
  readonly training: TrainingState;
}

export interface TrainResult extends TrainState {
  readonly seconds: number;
  readonly tokens: number;
  /** Set when `stopRequested` ended the run: the epoch and batch it stopped after. */
  readonly stoppedAt?: { readonly epoch: number; readonly batch: number };
}

/**
 * Trains for `epochs` more epochs from `weights` (a fresh model's or a checkpoint's). Each epoch
 * shuffles the pairs with the seed and the epoch number, so a resumed run sees the batches an
 * uninterrupted one would; with `optimizerState` Adam continues where it stopped, and a run
 * interrupted inside an epoch (`previous.partial`) goes on from the next batch of that epoch.
 */
export async function trainTranslator(spec: TranslatorSpec, pairs: readonly Pair[], weights: ReadonlyMap<string, HostTensor> | undefined, previous: TrainingState | undefined, o: TrainOptions, optimizerState?: readonly HostTensor[]): Promise<TrainResult> {
  const graphs = translatorGraphs(spec, o.labelSmoothing);
  const graph = graphs.train();
  const session = await Session.create(graph, { mode: 'train', seed: o.seed, ...(weights ? { weights: new Map(weights) } : {}) });
  const src = new Vocab(spec.srcVocab);
  const tgt = new Vocab(spec.tgtVocab);
  const optimizer = tf.train.adam(o.lr);
  // tfjs's Adam keeps its moments by position, in the order of the gradients it is given: the
  // session's parameter order, the same for the same model.
  if (optimizerState) await optimizer.setWeights(optimizerState.map((t, i) => ({ name: `state_${i}`, tensor: toTf(t) })));
  const losses = [...(previous?.losses ?? [])];
  const start = previous?.epochs ?? 0;
  const t0 = performance.now();
  let tokens = 0;
  const settings = { lr: o.lr, batchSize: o.batchSize, labelSmoothing: o.labelSmoothing, clipNorm: o.clipNorm, seed: o.seed };
  const snapshot = async (training: TrainingState): Promise<TrainState> => {
    const state = await optimizer.getWeights();
    return { weights: session.getWeights(), optimizerState: await Promise.all(state.map((w) => fromTf(w.tensor))), training };
  };
  try {
    for (let epoch = start + 1; epoch <= start + o.epochs; epoch++) {
      const order = shuffled(pairs.length, o.seed * 7919 + epoch);
      const batches = Math.ceil(pairs.length / o.batchSize);
      const resumed = epoch === start + 1 ? previous?.partial : undefined;
      let sum = resumed?.lossSum ?? 0;
      let count = resumed?.tokens ?? 0;
      for (let b = resumed?.batches ?? 0; b < batches; b++) {
        const batch = toBatch(order.slice(b * o.batchSize, (b + 1) * o.batchSize).map((i) => pairs[i]!), src, tgt, spec.numSteps);
        const n = batch.label_valid_lens.data.reduce((a, v) => a + v, 0);
        const loss = session.trainStep({ ...batch }, { loss: 'loss', optimizer, clipNorm: o.clipNorm });
        if (!Number.isFinite(loss)) throw new Error(`training diverged: the loss is ${loss} at epoch ${epoch}, batch ${b + 1} (try a smaller --lr)`);
        sum += loss * n;
        count += n;
        tokens += n;
        o.onBatch?.({ epoch, batch: b + 1, batches, loss: sum / count, tokensPerSecond: tokens / ((performance.now() - t0) / 1000) });
        // a turn of the event loop, so that a signal handler can run between steps
        if (o.stopRequested) await new Promise((resolve) => setImmediate(resolve));
        if (b + 1 < batches && o.stopRequested?.()) {
          const state = await snapshot({ epochs: epoch - 1, losses, ...settings, partial: { batches: b + 1, lossSum: sum, tokens: count } });
          o.onCheckpoint?.(state);
          return { ...state, seconds: (performance.now() - t0) / 1000, tokens, stoppedAt: { epoch, batch: b + 1 } };
        }
      }
      losses.push(sum / count);
      o.onEpoch?.(epoch, sum / count);
      const state = await snapshot({ epochs: epoch, losses: [...losses], ...settings });
      o.onCheckpoint?.(state);
      if (epoch === start + o.epochs || o.stopRequested?.()) {
        return { ...state, seconds: (performance.now() - t0) / 1000, tokens, ...(epoch < start + o.epochs ? { stoppedAt: { epoch, batch: batches } } : {}) };
      }
    }
    throw new Error('trainTranslator: no epoch to train');
  } finally {
    session.dispose();
    optimizer.dispose();
  }
}

function shuffled(n: number, seed: number): number[] {
  const random = seededRandom(seed);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

export interface Evaluation {
  /** The engine's name (`tfjs wasm`, `onnxruntime-node int8 (...)`). */
  readonly engine: string;
  readonly meanBleu: number;
  readonly exact: number;
  readonly examples: readonly { source: string; target: string; prediction: string; bleu: number }[];
}

/** Where decoding runs: tfjsEngine, ortEngine, int8Engine. */
export type EngineMaker = (encoder: Graph, step: Graph, weights: ReadonlyMap<string, HostTensor>) => Promise<StepEngine>;

/** Greedy (or beam) translations of held-out pairs with the cached decoder on `engine` (tfjs by default), scored with d2l's BLEU (k = 2). */
export async function evaluate(spec: TranslatorSpec, weights: ReadonlyMap<string, HostTensor>, pairs: readonly Pair[], options: { beam?: number; k?: number; engine?: EngineMaker } = {}): Promise<Evaluation> {
  const graphs = translatorGraphs(spec);
  const engine = await (options.engine ?? tfjsEngine)(graphs.encoder(), graphs.decoderStep(), weights);
  try {
    const out = await translate(engine, spec, graphs.layers, pairs.map((p) => p.source), { beam: options.beam ?? 1 });
    const examples = pairs.map((p, i) => {
      const pred = out[i]!.tokens;
      return { source: p.source, target: p.target, prediction: pred.join(' '), bleu: bleu(pred, tokenize(p.target), options.k ?? 2) };
    });
    return {
      engine: engine.name,
      meanBleu: examples.reduce((s, e) => s + e.bleu, 0) / examples.length,
      exact: examples.filter((e) => e.prediction === tokenize(e.target).join(' ')).length / examples.length,
      examples,
    };
  } finally {
    await engine.dispose();
  }
}

/** How many sentences two evaluations of the same pairs translated alike. */
export const agreement = (a: Evaluation, b: Evaluation): number => a.examples.filter((e, i) => e.prediction === b.examples[i]!.prediction).length;
