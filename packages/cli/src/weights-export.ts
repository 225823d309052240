/**
 * `tessera export MODEL --safetensors F [--weights-dtype float32|float16|int8]`: the model's weights
 * by state_dict name for the tfjs side (the browser), float16 or int8 per row to make the file 2x or
 * 4x smaller (safetensors' weights-dtype.ts has the scheme). The file is written, then loaded back as
 * `run --weights F` loads it, and the model runs on tfjs with it and with the float32 weights on
 * seeded random inputs: each output's error and the file sizes are reported.
 */
import { statSync } from 'node:fs';
import { humanCount } from '@tessera/compiler';
import { type HostTensor, randomInputs, symbolSizes } from '@tessera/graph-dsl';
import { Session } from '@tessera/runtime-tfjs';
import { encodeSafetensors, narrowWeights, underModule, WEIGHTS_DTYPES, type WeightsDType, weightsMetadata, writeSafetensorsFile } from '@tessera/safetensors';
import { compareOutputs, formatAccuracy, movedNote } from './accuracy.ts';
import { type Args, option, UsageError } from './args.ts';
import { type PreparedModel, prepareModel, type PrepareOptions } from './model.ts';
import { REPORT_BATCH } from './quantize-export.ts';

export interface WeightsRequest {
  readonly path: string;
  readonly dtype: WeightsDType;
  /** Module paths whose tensors stay float32 (`--weights-dtype-exclude head`). */
  readonly exclude: readonly string[];
}

/** `--safetensors F [--weights-dtype D [--weights-dtype-exclude a.b,c]]`, or undefined without --safetensors. */
export function weightsRequest(args: Args): WeightsRequest | undefined {
  const path = option(args, 'safetensors');
  const dtype = option(args, 'weights-dtype');
  const exclude = option(args, 'weights-dtype-exclude');
  if (path === undefined && dtype !== undefined) throw new UsageError(`--weights-dtype ${dtype} chooses how --safetensors stores the weights; give --safetensors OUT.safetensors too`);
  if (exclude !== undefined && (dtype === undefined || dtype === 'float32')) throw new UsageError('--weights-dtype-exclude keeps modules float32 that --weights-dtype float16 or int8 would narrow; give --weights-dtype too');
  if (path === undefined) return undefined;
  if (dtype !== undefined && !(WEIGHTS_DTYPES as readonly string[]).includes(dtype)) throw new UsageError(`--weights-dtype ${dtype}: expected one of ${WEIGHTS_DTYPES.join(', ')}`);
  const paths = (exclude ?? '').split(',').map((p) => p.trim());
  if (exclude !== undefined && paths.some((p) => p === '')) throw new UsageError(`--weights-dtype-exclude ${JSON.stringify(exclude)}: expected module paths separated by commas (head,features.0)`);
  return { path, dtype: (dtype ?? 'float32') as WeightsDType, exclude: exclude === undefined ? [] : paths };
}

/** The module path of a state_dict key (`heads.head.weight` -> `heads.head`; a top-level parameter is its own). */
const moduleOf = (key: string): string => (key.includes('.') ? key.slice(0, key.lastIndexOf('.')) : key);

/** A module path of --weights-dtype-exclude that holds none of the weights is a typo: say which modules there are. */
function checkExcluded(weights: ReadonlyMap<string, HostTensor>, exclude: readonly string[]): void {
  const unmatched = exclude.filter((m) => ![...weights.keys()].some((key) => underModule(key, m)));
  if (!unmatched.length) return;
  const modules = [...new Set([...weights.keys()].map(moduleOf))];
  const shown = modules.length > 6 ? [...modules.slice(0, 6), `... (${modules.length} in all)`] : modules;
  throw new UsageError(`--weights-dtype-exclude ${unmatched.join(',')}: no weights under ${unmatched.length > 1 ? 'these module paths' : 'this module path'}; the model's modules are ${shown.join(', ')}`);
}

/** The command line's model, to prepare it again with the written weights. */
export interface ModelArgs {
  readonly name: string;
  readonly config: readonly string[];
  readonly options: PrepareOptions;
}

/** Writes the weights as asked; for float16 and int8, measures them on tfjs against the float32 ones. Returns the report. */
export async function exportWeights(model: PreparedModel, request: WeightsRequest, given: ModelArgs): Promise<string> {
  checkExcluded(model.weights, request.exclude);
  const { tensors, narrow, metadata, kept } = narrowWeights(model.weights, request.dtype, request.exclude);
  const described = (stored: Record<string, string>) => ({ ...stored, model: model.name, weights: model.weightsSource });
  writeSafetensorsFile(request.path, tensors, described(metadata), narrow);
  const bytes = statSync(request.path).size;
  const wrote = `wrote ${request.path} (${model.name}'s weights, ${model.weights.size} tensors, ${humanCount(bytes)}B`;
  if (request.dtype === 'float32') return `${wrote}, float32)`;
  const float32Bytes = encodeSafetensors(model.weights, described(weightsMetadata('float32'))).length;
  const reasons = new Map<string, number>();
  for (const why of kept.values()) reasons.set(why, (reasons.get(why) ?? 0) + 1);
  const keptText = [...reasons].map(([why, n]) => `${n} (${why === 'excluded' ? `excluded: ${request.exclude.join(', ')}` : why})`).join(', ');
  // loaded back as `run --weights` loads it, compiled with those weights (constants folded from them)
  const loaded = await prepareModel(given.name, given.config, request.path, 0, given.options);
  const inputs = randomInputs(model.graph, symbolSizes(model.graph, { batch: REPORT_BATCH, other: 5 }), 0);
  const [reference, got] = [await runOnTfjs(model.graph, model.weights, inputs), await runOnTfjs(loaded.graph, loaded.weights, inputs)];
  const accuracies = compareOutputs(reference.outputs, got.outputs);
  // the last narrowed tensor is the classifier's head, often the most sensitive (Swin-T's alone moves its logits by 5 % in int8)
  const last = [...narrow.keys()].at(-1);
  const hint = request.dtype === 'int8' && last ? `--weights-dtype-exclude ${moduleOf(last)} keeps the last module float32, --weights-dtype float16 all` : `--weights-dtype ${request.dtype === 'int8' ? 'float16' : 'float32'} keeps more`;
  const note = movedNote(accuracies, hint);
  return [
    `${wrote}): ${narrow.size} tensors ${request.dtype === 'int8' ? 'int8, one float32 scale per row (dim 0)' : 'float16'}${keptText ? `; as they were: ${keptText}` : ''}`,
    `size: ${humanCount(float32Bytes)}B as float32 -> ${humanCount(bytes)}B as ${request.dtype} (${(float32Bytes / bytes).toFixed(2)}x smaller)`,
    `against the float32 weights on tfjs (${reference.backend}), seeded random inputs (batch ${REPORT_BATCH}, seed 0):`,
    ...accuracies.map((a) => `  ${formatAccuracy(a)}`),
    ...(note ? [note] : []),
  ].join('\n');
}

async function runOnTfjs(graph: PreparedModel['graph'], weights: ReadonlyMap<string, HostTensor>, inputs: Record<string, HostTensor>): Promise<{ outputs: Record<string, HostTensor>; backend: string }> {
  const session = await Session.create(graph, { weights });
  try {
    return { outputs: await session.run(inputs), backend: session.backend.name };
  } finally {
    session.dispose();
  }
}
