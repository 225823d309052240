import { compile } from '@tessera/compiler';
import { checkWeights, type Graph, type HostTensor, initialWeights, trace } from '@tessera/graph-dsl';
import { buildModel, type BuiltModel, type CatalogEntry, type Config, takeBuffers } from '@tessera/models';
import { readSafetensorsFile } from '@tessera/safetensors';

export interface PreparedModel {
  readonly entry: CatalogEntry;
  readonly config: Config;
  readonly built: BuiltModel;
  /** The traced graph, before any pass. */
  readonly traced: Graph;
  /** The compiled graph (eval mode). */
  readonly graph: Graph;
  readonly weights: Map<string, HostTensor>;
  /** Where the weights came from, for messages. */
  readonly weightsSource: string;
}

/** A command's own `key=value` config with the user's pairs in place of its pairs for the same keys. */
export function withOverrides(base: readonly string[], overrides: readonly string[]): string[] {
  const key = (kv: string) => kv.slice(0, kv.indexOf('='));
  const given = new Set(overrides.map(key));
  return [...base.filter((kv) => !given.has(key(kv))), ...overrides];
}

export interface PrepareOptions {
  /** Run the compiler's fusions (on by default; `--no-fuse` turns them off). */
  readonly fuse?: boolean;
}

/** Builds a catalog model with `key=value` config, traces and compiles it, and loads or initializes its weights. */
export function prepareModel(name: string, config: readonly string[], weightsPath?: string, seed = 0, options: PrepareOptions = {}): PreparedModel {
  const { entry, config: resolved, built } = buildModel(name, config);
  const traced = trace(built.module, built.inputs, built.outputs);
  let weights: Map<string, HostTensor>;
  if (weightsPath) {
    // buffers in a PyTorch state_dict (Swin's relative_position_index) are checked against the model's own and taken out
    weights = takeBuffers(built.module, readSafetensorsFile(weightsPath).tensors, weightsPath);
    checkWeights(traced, weights, { source: weightsPath });
  } else weights = initialWeights(traced, seed);
  const { graph } = compile(traced, { weights, fuse: options.fuse ?? true });
  return { entry, config: resolved, built, traced, graph, weights, weightsSource: weightsPath ?? `initial (seed ${seed})` };
}
