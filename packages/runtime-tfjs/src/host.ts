/** Moving tensors between the host (HostTensor) and tfjs. */
import * as tf from '@tensorflow/tfjs-core';
import { type DType, type HostTensor, hostTensor } from '@tessera/graph-dsl';

/** A tfjs tensor holding a host tensor's data (bool stays 'bool'). The caller owns it. */
export function toTf(t: HostTensor): tf.Tensor {
  return tf.tensor(t.data, [...t.shape], t.dtype);
}

/** Reads a tfjs tensor back to the host. Does not dispose it. */
export function fromTfSync(t: tf.Tensor): HostTensor {
  return fromData(t, t.dataSync());
}

export async function fromTf(t: tf.Tensor): Promise<HostTensor> {
  return fromData(t, await t.data());
}

function fromData(t: tf.Tensor, data: tf.TypedArray | string[]): HostTensor {
  if (Array.isArray(data)) throw new Error(`cannot read a ${t.dtype} tensor to the host`);
  const dtype = t.dtype as DType;
  return hostTensor(dtype, t.shape, data);
}
