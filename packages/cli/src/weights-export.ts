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
import { encodeSafetensors, narrowWeights, WEIGHTS_DTYPES, type WeightsDType, weightsMetadata, writeSafetensorsFile } from '@tessera/safetensors';
import { compareOutputs, formatAccuracy, movedNote } from './accuracy.ts';
import { type Args, option, UsageError } from './args.ts';
import { type PreparedModel, prepareModel, type PrepareOptions } from './model.ts';
import { REPORT_BATCH } from './quantize-export.ts';

export interface WeightsRequest {
  readonly path: string;
  readonly dtype: WeightsDType;
}

/** `--safetensors F [--weights-dtype D]`, or undefined without --safetensors. */
export function weightsRequest(args: Args): WeightsRequest | undefined {
  const path = option(args, 'safetensors');
  const dtype = option(args, 'weights-dtype');
  if (path === undefined) {
    if (dtype !== undefined) throw new UsageError(`--weights-dtype ${dtype} chooses how --safetensors stores the weights; give --safetensors OUT.safetensors too`);
    return undefined;
  }
  if (dtype !== undefined && !(WEIGHTS_DTYPES as readonly string[]).includes(dtype)) throw new UsageError(`--weights-dtype ${dtype}: expected one of ${WEIGHTS_DTYPES.join(', ')}`);
  return { path, dtype: (dtype ?? 'float32') as WeightsDType };
}

/** The command line's model, to prepare it again with the written weights. */
export interface ModelArgs {
  readonly name: string;
  readonly config: readonly string[];
  readonly options: PrepareOptions;
}

/** Writes the weights as asked; for float16 and int8, measures them on tfjs against the float32 ones. Returns the report. */
export async function exportWeights(model: PreparedModel, request: WeightsRequest, given: ModelArgs): Promise<string> {
  const { tensors, narrow, metadata, kept } = narrowWeights(model.weights, request.dtype);
  const described = (stored: Record<string, string>) => ({ ...stored, model: model.name, weights: model.weightsSource });
  writeSafetensorsFile(request.path, tensors, described(metadata), narrow);
  const bytes = statSync(request.path).size;
  const wrote = `wrote ${request.path} (${model.name}'s weights, ${model.weights.size} tensors, ${humanCount(bytes)}B`;
  if (request.dtype === 'float32') return `${wrote}, float32)`;
  const float32Bytes = encodeSafetensors(model.weights, described(weightsMetadata('float32'))).length;
  const reasons = new Map<string, number>();
  for (const why of kept.values()) reasons.set(why, (reasons.get(why) ?? 0) + 1);
  const keptText = [...reasons].map(([why, n]) => `${n} (${why})`).join(', ');
  // loaded back as `run --weights` loads it, compiled with those weights (constants folded from them)
  const loaded = await prepareModel(given.name, given.config, request.path, 0, given.options);
  const inputs = randomInputs(model.graph, symbolSizes(model.graph, { batch: REPORT_BATCH, other: 5 }), 0);
  const [reference, got] = [await runOnTfjs(model.graph, model.weights, inputs), await runOnTfjs(loaded.graph, loaded.weights, inputs)];
  const accuracies = compareOutputs(reference.outputs, got.outputs);
  const note = movedNote(accuracies, request.dtype === 'int8' ? '--weights-dtype float16 keeps more' : '--weights-dtype float32 keeps the weights as they are');
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
