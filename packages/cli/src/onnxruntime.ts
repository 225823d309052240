import { createRequire } from 'node:module';
import type { DType, HostTensor } from '@tessera/graph-dsl';
import type * as Ort from 'onnxruntime-node';

const require = createRequire(import.meta.url);

const ORT_TYPES: Record<DType, 'float32' | 'int32' | 'bool'> = { float32: 'float32', int32: 'int32', bool: 'bool' };

/** Runs an ONNX model with onnxruntime-node (CPU) and returns its outputs as host tensors. */
export async function runOnnxRuntime(model: Uint8Array, inputs: Readonly<Record<string, HostTensor>>): Promise<Record<string, HostTensor>> {
  const ort = require('onnxruntime-node') as typeof Ort;
  const session = await ort.InferenceSession.create(model, { graphOptimizationLevel: 'all' });
  try {
    const feeds = Object.fromEntries(Object.entries(inputs).map(([name, t]) => [name, new ort.Tensor(ORT_TYPES[t.dtype], t.dtype === 'bool' ? Uint8Array.from(t.data) : t.data, [...t.shape])]));
    const results = await session.run(feeds);
    return Object.fromEntries(Object.entries(results).map(([name, t]) => [name, fromOrt(t)]));
  } finally {
    await session.release();
  }
}

function fromOrt(t: Ort.Tensor): HostTensor {
  const shape = t.dims.map(Number);
  if (t.type === 'float32') return { dtype: 'float32', shape, data: Float32Array.from(t.data as Float32Array) };
  if (t.type === 'int32') return { dtype: 'int32', shape, data: Int32Array.from(t.data as Int32Array) };
  if (t.type === 'int64') return { dtype: 'int32', shape, data: Int32Array.from(t.data as BigInt64Array, Number) };
  if (t.type === 'bool') return { dtype: 'bool', shape, data: Uint8Array.from(t.data as Uint8Array) };
  throw new Error(`onnxruntime returned a ${t.type} tensor, which Tessera does not read`);
}
