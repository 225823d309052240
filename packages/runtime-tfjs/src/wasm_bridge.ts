/**
 * tfjs-backend-wasm 4.22 has no kernel for some gradients that training needs
 * (Conv2DBackpropFilter, the depthwise backprops, UnsortedSegmentSum for Gather, ...). Each
 * kernel the cpu backend has and wasm lacks is registered for wasm as a bridge: the inputs are
 * copied to the cpu backend, its kernel runs, the outputs are copied back. Correct everywhere,
 * at JS speed; forward inference on wasm uses none of them in practice.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-wasm';

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): tf.TypedArray;
}

interface CpuBackendLike {
  write(values: tf.TypedArray, shape: number[], dtype: tf.DataType): object;
  readSync(dataId: object): tf.TypedArray;
  disposeData(dataId: object, force?: boolean): boolean;
}

let bridged: string[] | undefined;

function bridge(kernelName: string, cpuKernel: tf.KernelFunc): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const cpu = tf.engine().findBackend('cpu') as unknown as CpuBackendLike | null;
    if (!cpu) throw new Error(`${kernelName}: the cpu backend that runs it for wasm could not start`);
    const wasm = backend as unknown as WasmBackendLike;
    const ids: object[] = [];
    const moved: Record<string, tf.TensorInfo> = {};
    try {
      for (const [name, t] of Object.entries(inputs as Record<string, tf.TensorInfo>)) {
        const dataId = cpu.write(wasm.typedArrayFromHeap(t).slice(), [...t.shape], t.dtype);
        ids.push(dataId);
        moved[name] = { dataId, shape: t.shape, dtype: t.dtype };
      }
      const result = cpuKernel({ inputs: moved, backend: cpu as unknown as tf.KernelBackend, attrs });
      const outs = Array.isArray(result) ? result : [result];
      const back = outs.map((o) => {
        ids.push(o.dataId);
        const out = wasm.makeOutput([...o.shape], o.dtype);
        wasm.typedArrayFromHeap(out).set(cpu.readSync(o.dataId));
        return out;
      });
      return Array.isArray(result) ? back : back[0]!;
    } finally {
      for (const id of new Set(ids)) cpu.disposeData(id, true);
    }
  };
}

/** Registers the bridges once; returns the kernel names bridged. */
export function bridgeMissingWasmKernels(): readonly string[] {
  if (bridged) return bridged;
  bridged = [];
  for (const config of tf.getKernelsForBackend('cpu')) {
    if (tf.getKernel(config.kernelName, 'wasm')) continue;
    tf.registerKernel({ kernelName: config.kernelName, backendName: 'wasm', kernelFunc: bridge(config.kernelName, config.kernelFunc) });
    bridged.push(config.kernelName);
  }
  return bridged;
}
