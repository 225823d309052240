/**
 * Running and validating exported models: ONNX Runtime (onnxruntime-node, CPU) to run them, and
 * Python's onnx.checker (Debian's python3-onnx) to validate them, where it is installed.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { DType, HostTensor } from '@tessera/graph-dsl';
import type * as Ort from 'onnxruntime-node';
import { encodeModel, EXTERNAL_DATA_THRESHOLD, initializerBytes } from './export.ts';
import { type OnnxFileOptions, writeOnnxModelFiles } from './files.ts';
import type { ModelProto } from './proto.ts';

const require = createRequire(import.meta.url);
const ORT_TYPES: Record<DType, 'float32' | 'int32' | 'bool'> = { float32: 'float32', int32: 'int32', bool: 'bool' };

function fromOrt(name: string, t: Ort.Tensor): HostTensor {
  const shape = t.dims.map(Number);
  if (t.type === 'float32') return { dtype: 'float32', shape, data: Float32Array.from(t.data as Float32Array) };
  if (t.type === 'int32') return { dtype: 'int32', shape, data: Int32Array.from(t.data as Int32Array) };
  if (t.type === 'int64') return { dtype: 'int32', shape, data: Int32Array.from(t.data as BigInt64Array, Number) };
  if (t.type === 'bool') return { dtype: 'bool', shape, data: Uint8Array.from(t.data as Uint8Array) };
  throw new Error(`onnxruntime returned output '${name}' as ${t.type}, which Tessera does not read`);
}

/** onnxruntime-node, an optional peer dependency: a BackendError that says how to install it when it is missing. */
function loadOrt(): typeof Ort {
  try {
    return require('onnxruntime-node') as typeof Ort;
  } catch (e) {
    if ((e as { code?: string }).code !== 'MODULE_NOT_FOUND' || !String(e).includes('onnxruntime-node')) throw e;
    const missing = new Error('onnxruntime-node is not installed (npm install onnxruntime-node@1.30.0)');
    missing.name = 'BackendError';
    throw missing;
  }
}

/** A session of ONNX Runtime on one model: run it on any number of inputs, then release it. */
export interface OnnxSession {
  run(inputs: Readonly<Record<string, HostTensor>>): Promise<Record<string, HostTensor>>;
  release(): Promise<void>;
}

async function createSession(model: Uint8Array | string): Promise<OnnxSession> {
  const ort = loadOrt();
  const options = { graphOptimizationLevel: 'all' } as const;
  const session = typeof model === 'string' ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
  return {
    async run(inputs) {
      const feeds = Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, new ort.Tensor(ORT_TYPES[t.dtype], t.data, [...t.shape])]));
      const results = await session.run(feeds);
      return Object.fromEntries(Object.entries(results).map(([name, t]) => [name, fromOrt(name, t)]));
    },
    release: () => session.release(),
  };
}

/** Runs a model (bytes, or the path of a file with its external data beside it) and returns every output. */
export async function runOnnxRuntime(model: Uint8Array | string, inputs: Readonly<Record<string, HostTensor>>): Promise<Record<string, HostTensor>> {
  return runOnce(await createSession(model), inputs);
}

async function runOnce(session: OnnxSession, inputs: Readonly<Record<string, HostTensor>>): Promise<Record<string, HostTensor>> {
  try {
    return await session.run(inputs);
  } finally {
    await session.release();
  }
}

/**
 * Opens a session on a model at hand: from memory, or, past the 2 GiB one protobuf message holds
 * (vit_h_14) or when `external` asks, from a temporary directory with the weights as external
 * data, removed when the session is released.
 */
export async function openOnnxModel(model: ModelProto, external: Pick<OnnxFileOptions, 'externalData' | 'externalThreshold'> = {}): Promise<OnnxSession> {
  if (!external.externalData && initializerBytes(model) <= EXTERNAL_DATA_THRESHOLD) return createSession(encodeModel(model));
  const dir = mkdtempSync(path.join(tmpdir(), `tessera-ort-${process.pid}-`));
  const removeDir = () => rmSync(dir, { recursive: true, force: true });
  try {
    const { modelPath } = await writeOnnxModelFiles(model, { ...external, path: path.join(dir, 'model.onnx'), externalData: true });
    const session = await createSession(modelPath);
    return { run: (inputs) => session.run(inputs), release: () => session.release().finally(removeDir) };
  } catch (e) {
    removeDir();
    throw e;
  }
}

/** Runs a model at hand on ONNX Runtime once (openOnnxModel, run, release). */
export async function runOnnxModel(
  model: ModelProto, inputs: Readonly<Record<string, HostTensor>>, external: Pick<OnnxFileOptions, 'externalData' | 'externalThreshold'> = {},
): Promise<Record<string, HostTensor>> {
  return runOnce(await openOnnxModel(model, external), inputs);
}

const PYTHON = '/usr/bin/python3';
const CHECK = 'import onnx, sys\nonnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)';

let checkerMissing: string | undefined | null = null;

/** Why onnx.checker cannot run on this machine, or undefined when it can (asked of Python once). */
export function onnxCheckerMissing(): string | undefined {
  if (checkerMissing === null) {
    const probe = spawnSync(PYTHON, ['-c', 'import onnx'], { encoding: 'utf8' });
    checkerMissing = probe.status === 0 ? undefined : `${PYTHON} cannot import onnx (apt-get install python3-onnx)`;
  }
  return checkerMissing;
}

export type CheckResult = { readonly ok: true } | { readonly ok: false; readonly message: string } | { readonly ok: undefined; readonly message: string };

/**
 * `onnx.checker.check_model(model, full_check=True)` with Debian's Python. `ok` is undefined
 * when that Python or its onnx is not installed (the message says how to install it).
 */
export function checkOnnxModel(model: Uint8Array | string): CheckResult {
  const missing = onnxCheckerMissing();
  if (missing) return { ok: undefined, message: missing };
  let file = model as string;
  let dir: string | undefined;
  if (typeof model !== 'string') {
    dir = mkdtempSync(path.join(tmpdir(), 'tessera-check-'));
    file = path.join(dir, 'model.onnx');
    writeFileSync(file, model);
  }
  try {
    const r = spawnSync(PYTHON, ['-c', CHECK, file], { encoding: 'utf8' });
    if (r.status === 0) return { ok: true };
    return { ok: false, message: (r.stderr || r.stdout).trim().split('\n').filter(Boolean).at(-1) ?? `exit ${r.status}` };
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}
