/** Test support for the vision chapter: compile a catalog model once, run it on tfjs and on ONNX Runtime from our export. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compile, exportOnnx } from '@tessera/compiler';
import { type Graph, type HostTensor, hostTensor, trace } from '@tessera/graph-dsl';
import { Session } from '@tessera/runtime-tfjs';
import ort from 'onnxruntime-node';
import { takeBuffers } from '../buffers.ts';
import { buildModel, type Config } from '../index.ts';

export interface Compiled {
  readonly graph: Graph;
  /** The parameters, with the state_dict's buffers checked and taken out. */
  readonly weights: Map<string, HostTensor>;
}

/** Builds, traces and compiles a catalog model, and splits a torchvision state_dict into parameters and (checked) buffers. */
export function compileCatalogModel(name: string, config: Config, stateDict: ReadonlyMap<string, HostTensor>): Compiled {
  const { built } = buildModel(name, config);
  const { graph } = compile(trace(built.module, built.inputs, built.outputs), {});
  return { graph, weights: takeBuffers(built.module, stateDict, `fixture of ${name}`) };
}

export async function runTfjs(c: Compiled, inputs: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
  const session = await Session.create(c.graph, { weights: c.weights });
  try {
    return await session.run(inputs);
  } finally {
    session.dispose();
  }
}

/** Exports to ONNX and runs the bytes in onnxruntime-node on the CPU. */
export async function runOnnxRuntime(onnx: Uint8Array, inputs: Record<string, HostTensor>): Promise<Record<string, HostTensor>> {
  const session = await ort.InferenceSession.create(onnx);
  try {
    const feeds = Object.fromEntries(Object.entries(inputs).map(([k, t]) => [k, new ort.Tensor(t.dtype === 'bool' ? 'bool' : t.dtype, t.data, [...t.shape])]));
    const out = await session.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, t]) => [k, hostTensor('float32', t.dims.map(Number), t.data as Float32Array)]));
  } finally {
    await session.release();
  }
}

export function exportCompiled(c: Compiled): Uint8Array {
  return exportOnnx(c.graph, { weights: c.weights });
}

/** `onnx.checker.check_model(full_check=True)` with /usr/bin/python3; undefined when it passes, 'skipped: ...' when python's onnx is absent. */
export function onnxChecker(model: Uint8Array): string | undefined {
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'tessera-vision-')), 'model.onnx');
  writeFileSync(file, model);
  const r = spawnSync('/usr/bin/python3', ['-c', 'import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)', file], { encoding: 'utf8' });
  if (r.status === 0) return undefined;
  if (/No module named 'onnx'/.test(r.stderr)) return `skipped: ${r.stderr.trim().split('\n').pop()}`;
  return `${r.stdout}${r.stderr}`.trim() || `exit ${r.status}`;
}
