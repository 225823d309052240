/** A translator checkpoint: a directory with model.safetensors (weights by state_dict name), config.json and loss.svg. */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { checkWeights, type Graph, type HostTensor } from '@tessera/graph-dsl';
import { writeFileAtomic } from '@tessera/graph-dsl/node';
import { readSafetensorsFile, writeSafetensorsFile } from '@tessera/safetensors';
import { lossCurveSvg } from './svg.ts';
import type { TranslatorSpec } from './translator.ts';

export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export interface TrainingState {
  readonly epochs: number;
  /** Mean training loss of every epoch so far. */
  readonly losses: readonly number[];
  readonly lr: number;
  readonly batchSize: number;
  readonly labelSmoothing: number;
  readonly clipNorm: number;
  readonly seed: number;
  readonly heldOutBleu?: number;
  /** A run interrupted inside epoch `epochs + 1`: how many of its batches were done, and their loss so far. */
  readonly partial?: { readonly batches: number; readonly lossSum: number; readonly tokens: number };
}

export interface Checkpoint {
  readonly spec: TranslatorSpec;
  readonly training: TrainingState;
  readonly weights: Map<string, HostTensor>;
  /** Adam's state in order (absent in a checkpoint written without it). */
  readonly optimizerState?: readonly HostTensor[];
}

const utf8 = (s: string) => new TextEncoder().encode(s);

export const FILES = { weights: 'model.safetensors', optimizer: 'optimizer.safetensors', config: 'config.json', loss: 'loss.svg' } as const;
const stateKey = (i: number) => `adam.${String(i).padStart(4, '0')}`;

export function saveCheckpoint(dir: string, c: Checkpoint): void {
  mkdirSync(dir, { recursive: true });
  const config = JSON.stringify({ format: 'tessera-translator/1', ...c.spec, training: c.training }, null, 2);
  writeSafetensorsFile(path.join(dir, FILES.weights), c.weights, { format: 'pt', config: JSON.stringify(c.spec.model) });
  if (c.optimizerState) writeSafetensorsFile(path.join(dir, FILES.optimizer), new Map(c.optimizerState.map((t, i) => [stateKey(i), t])), { optimizer: 'tf.train.adam', order: 'step count, first moments, second moments, in parameter order' });
  writeFileAtomic(path.join(dir, FILES.config), utf8(`${config}\n`));
  writeFileAtomic(path.join(dir, FILES.loss), utf8(lossCurveSvg(c.training.losses, `training loss (masked softmax cross-entropy), ${c.training.epochs} epochs`)));
}

/** Reads a checkpoint; `graph` (when given) checks that the weights fit the model the config describes. */
export function loadCheckpoint(dir: string, graph?: (spec: TranslatorSpec) => Graph): Checkpoint {
  const configPath = path.join(dir, FILES.config);
  if (!existsSync(configPath)) throw new CheckpointError(`${dir} is not a translator checkpoint: it has no ${FILES.config} (write one with tessera train transformer --checkpoint ${dir})`);
  let parsed: TranslatorSpec & { format?: string; training: TrainingState };
  try {
    parsed = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${configPath} is not valid JSON: ${(e as Error).message}`);
  }
  if (parsed.format !== 'tessera-translator/1' || !parsed.model || !Array.isArray(parsed.srcVocab) || !Array.isArray(parsed.tgtVocab)) {
    throw new CheckpointError(`${configPath} is not a tessera translator config (format tessera-translator/1 with model, srcVocab, tgtVocab)`);
  }
  const spec: TranslatorSpec = { model: parsed.model, numSteps: parsed.numSteps, srcVocab: parsed.srcVocab, tgtVocab: parsed.tgtVocab };
  const weightsPath = path.join(dir, FILES.weights);
  const weights = readSafetensorsFile(weightsPath).tensors;
  if (graph) {
    try {
      checkWeights(graph(spec), weights, { source: weightsPath });
    } catch (e) {
      throw new CheckpointError(`${weightsPath} does not fit the model of ${configPath} (${Object.entries(spec.model).filter(([k]) => !['batch', 'src_len', 'tgt_len'].includes(k)).map(([k, v]) => `${k}=${v}`).join(' ')}): ${(e as Error).message}`);
    }
  }
  const optimizerPath = path.join(dir, FILES.optimizer);
  let optimizerState: HostTensor[] | undefined;
  if (existsSync(optimizerPath)) {
    const state = readSafetensorsFile(optimizerPath).tensors;
    optimizerState = Array.from({ length: state.size }, (_, i) => {
      const t = state.get(stateKey(i));
      if (!t) throw new CheckpointError(`${optimizerPath} has no tensor ${stateKey(i)}: the optimizer state is incomplete`);
      return t;
    });
  }
  return { spec, training: parsed.training, weights, ...(optimizerState ? { optimizerState } : {}) };
}
