/** Test support: load a PyTorch fixture, run a catalog model on the tfjs runtime, compare. */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { compile } from '@tessera/compiler';
import { type HostTensor, trace } from '@tessera/graph-dsl';
export { maxAbsDiff } from '@tessera/graph-dsl';
import { Session } from '@tessera/runtime-tfjs';
import { readSafetensorsFile } from '@tessera/safetensors';
import { type BuiltModel, buildModel, type Config } from './index.ts';

export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures');

export interface Fixture {
  readonly inputs: Map<string, HostTensor>;
  readonly params: Map<string, HostTensor>;
  readonly outputs: Map<string, HostTensor>;
  readonly config: Record<string, unknown>;
  readonly call: Record<string, unknown>;
}

/** Splits a fixture file by its `input.`, `param.` and `output.` prefixes. */
export function loadFixture(name: string): Fixture {
  const { tensors, metadata } = readSafetensorsFile(path.join(FIXTURES, `${name}.safetensors`));
  const pick = (prefix: string) => new Map([...tensors].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  return {
    inputs: pick('input.'),
    params: pick('param.'),
    outputs: pick('output.'),
    config: JSON.parse(metadata.config ?? '{}') as Record<string, unknown>,
    call: JSON.parse(metadata.call ?? '{}') as Record<string, unknown>,
  };
}

/** Builds a catalog model, compiles it and runs it on the tfjs runtime with the given weights. */
export async function runCatalogModel(name: string, config: Config, inputs: Record<string, HostTensor>, weights?: Map<string, HostTensor>): Promise<Record<string, HostTensor>> {
  return runModule(buildModel(name, config).built, inputs, weights);
}

/** Traces a module with its inputs, compiles it and runs it on the tfjs runtime with the given weights. */
export async function runModule(built: BuiltModel, inputs: Record<string, HostTensor>, weights?: Map<string, HostTensor>): Promise<Record<string, HostTensor>> {
  const { graph } = compile(trace(built.module, built.inputs, built.outputs), {});
  const session = await Session.create(graph, weights ? { weights } : {});
  try {
    return await session.run(inputs);
  } finally {
    session.dispose();
  }
}
