/**
 * Backend selection: native TensorFlow (tfjs-node) where its addon loads, else WebAssembly
 * (ships inside the npm package), else plain JavaScript. A missing native backend is never an
 * error unless it was asked for by name.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
// the package's `#platform` import: ./platform/node.ts under the `node` condition, else ./platform/browser.ts
import { platform } from '#platform';
import { bridgeMissingWasmKernels } from './wasm_bridge.ts';

export type BackendName = 'tfjs-node' | 'wasm' | 'cpu';
export type BackendPreference = 'auto' | BackendName;

export interface BackendInfo {
  /** The backend in use. */
  readonly name: BackendName;
  /** tfjs's own name for it ('tensorflow' for tfjs-node). */
  readonly tfjsName: string;
  /** One short line for people: which backend, and why a better one was not used. */
  readonly reason: string;
}

/** Asked for a backend by name that cannot run here. */
export class BackendError extends Error {
  override readonly name = 'BackendError';
}

platform.registerGradients();
const TFJS_NAME: Record<BackendName, string> = { 'tfjs-node': 'tensorflow', wasm: 'wasm', cpu: 'cpu' };

let current: BackendInfo | undefined;
let pending: Promise<BackendInfo> | undefined;

/** The backend chosen by `initBackend`, or undefined before the first call. */
export function backendInfo(): BackendInfo | undefined {
  return current;
}

/**
 * Picks and initializes a backend. 'auto' tries tfjs-node, then wasm, then cpu and reports
 * why a better one was skipped; a backend asked for by name that cannot run is a BackendError.
 * Calling again returns the backend already chosen ('auto', or the same name).
 */
export async function initBackend(preferred: BackendPreference = 'auto'): Promise<BackendName> {
  return (await initBackendInfo(preferred)).name;
}

export async function initBackendInfo(preferred: BackendPreference = 'auto'): Promise<BackendInfo> {
  if (pending) await pending.catch(() => undefined);
  if (current && (preferred === 'auto' || preferred === current.name) && tf.getBackend() === current.tfjsName) return current;
  pending = select(preferred);
  try {
    current = await pending;
    return current;
  } finally {
    pending = undefined;
  }
}

async function select(preferred: BackendPreference): Promise<BackendInfo> {
  const order: BackendName[] = preferred === 'auto' ? ['tfjs-node', 'wasm', 'cpu'] : [preferred];
  const skipped: string[] = [];
  for (const name of order) {
    const failure = await tryBackend(name);
    if (failure === undefined) {
      const reason = skipped.length ? `${skipped.join('; ')}; using ${name}` : `using ${name}`;
      return { name, tfjsName: TFJS_NAME[name], reason };
    }
    if (preferred !== 'auto') throw new BackendError(`backend ${name} was asked for but ${failure}`);
    skipped.push(`${name} is not available (${failure})`);
  }
  throw new BackendError(`no TensorFlow.js backend could start: ${skipped.join('; ')}`);
}

/** Starts one backend; returns why it cannot run, or undefined when it is now the active one. */
async function tryBackend(name: BackendName): Promise<string | undefined> {
  try {
    if (name === 'tfjs-node') {
      const failure = loadNative();
      if (failure) return failure;
    } else if (name === 'wasm') {
      const wasmPath = platform.wasmPath();
      if (wasmPath !== undefined) setWasmPaths(wasmPath);
      bridgeMissingWasmKernels();
    }
    const ok = await tf.setBackend(TFJS_NAME[name]);
    if (!ok) return 'it failed to initialize';
    await tf.ready();
    return undefined;
  } catch (e) {
    return shortReason(e);
  }
}

/** Loads @tensorflow/tfjs-node, which registers the 'tensorflow' backend as a side effect. */
function loadNative(): string | undefined {
  if (tf.findBackendFactory('tensorflow')) return undefined;
  try {
    const failure = platform.loadNative();
    if (failure) return failure;
  } catch (e) {
    return shortReason(e);
  }
  return tf.findBackendFactory('tensorflow') ? undefined : 'it loaded but registered no backend';
}

function shortReason(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: string } | null)?.code;
  if (/native addon|tfjs_binding\.node|\.node'?\s*$/i.test(message)) return 'native addon not found';
  if (code === 'MODULE_NOT_FOUND' && message.includes('@tensorflow/tfjs-node')) return 'package not installed';
  const first = message.split('\n')[0]!.trim();
  return first.length > 100 ? `${first.slice(0, 97)}...` : first;
}
