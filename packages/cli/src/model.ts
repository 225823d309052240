import path from 'node:path';
import { compile } from '@tessera/compiler';
import { checkWeights, type Graph, type HostTensor, initialWeights, trace } from '@tessera/graph-dsl';
import { buildModel, type FileModel, loadStateDict, traceFileModel } from '@tessera/models';
import { dequantizeWeights, readSafetensorsFile } from '@tessera/safetensors';
import { isModelFile, loadModelFile } from './model-file.ts';

/** A model built from a catalog name or a model file, before tracing (a catalog model's name in place of the file's). */
export type ModelSource = FileModel;

export interface PreparedModel extends ModelSource {
  /** The traced graph, before any pass. */
  readonly traced: Graph;
  /** The compiled graph (eval mode). */
  readonly graph: Graph;
  readonly weights: Map<string, HostTensor>;
  /** Where the weights came from, for messages (with what loading changed: a ViT's position embedding interpolated to its image size). */
  readonly weightsSource: string;
  /** What loading the weights changed, one line each. */
  readonly weightsNotes: readonly string[];
}

/** A command's own `key=value` config with the user's pairs in place of its pairs for the same keys. */
export function withOverrides(base: readonly string[], overrides: readonly string[]): string[] {
  const key = (kv: string) => kv.slice(0, kv.indexOf('='));
  const given = new Set(overrides.map(key));
  return [...base.filter((kv) => !given.has(key(kv))), ...overrides];
}

/** Builds a catalog model, or loads a model file (a MODEL ending in .ts, .mts, .js or .mjs), with `key=value` config. */
export async function loadModel(name: string, config: readonly string[]): Promise<ModelSource> {
  if (isModelFile(name)) return loadModelFile(name, config);
  const { config: resolved, built } = buildModel(name, config);
  return { name, config: resolved, ...built };
}

/** Traces a model; a model file's own JavaScript errors name the user's line (models' traceFileModel). */
export function traceModel(model: ModelSource): Graph {
  return isModelFile(model.name) ? traceFileModel(model, path.resolve(model.name)) : trace(model.module, model.inputs, model.outputs);
}

export interface PrepareOptions {
  /** Run the compiler's fusions (on by default; `--no-fuse` turns them off). */
  readonly fuse?: boolean;
}

/** Builds or loads a model with `key=value` config, traces and compiles it, and loads or initializes its weights. */
export async function prepareModel(name: string, config: readonly string[], weightsPath?: string, seed = 0, options: PrepareOptions = {}): Promise<PreparedModel> {
  const model = await loadModel(name, config);
  const traced = traceModel(model);
  let weights: Map<string, HostTensor>;
  let notes: readonly string[] = [];
  if (weightsPath) {
    // float16 and int8 files (export --weights-dtype) read as float32; buffers in a PyTorch state_dict (Swin's relative_position_index) are checked and taken out; a ViT trained at another size interpolates its position embedding
    ({ weights, notes } = loadStateDict(model.module, dequantizeWeights(readSafetensorsFile(weightsPath), weightsPath), weightsPath));
    checkWeights(traced, weights, { source: weightsPath });
  } else weights = initialWeights(traced, seed);
  const { graph } = compile(traced, { weights, fuse: options.fuse ?? true });
  const weightsSource = weightsPath ? `${weightsPath}${notes.length ? ` (${notes.join('; ')})` : ''}` : `initial (seed ${seed})`;
  return { ...model, traced, graph, weights, weightsSource, weightsNotes: notes };
}
