/** Swin's window partition and reverse on the host: one gather over the H*W positions by the ops' own index. */
import { type HostTensor, hostTensor, type WindowAttrs, windowPartitionIndex, windowReverseIndex } from '@tessera/graph-dsl';

type In = readonly (HostTensor | null)[];

/** out[b, k, :] = x[b, index[k], :] over (B, P, C) views. */
function gatherPositions(x: HostTensor, index: Int32Array, shape: readonly number[]): HostTensor {
  const c = shape[shape.length - 1]!;
  const positions = index.length;
  const batch = x.data.length / (positions * c);
  const out = hostTensor('float32', shape);
  for (let b = 0; b < batch; b++) {
    for (let k = 0; k < positions; k++) {
      const from = (b * positions + index[k]!) * c;
      out.data.set(x.data.subarray(from, from + c), (b * positions + k) * c);
    }
  }
  return out;
}

export function WindowPartition([x]: In, attrs: WindowAttrs): HostTensor[] {
  const [b, h, w, c] = x!.shape as [number, number, number, number];
  const n = attrs.window[0] * attrs.window[1];
  return [gatherPositions(x!, windowPartitionIndex(h, w, attrs), [(b * h * w) / n, n, c])];
}

export function WindowReverse([y]: In, attrs: WindowAttrs & { size: readonly [number, number] }): HostTensor[] {
  const [h, w] = attrs.size;
  const c = y!.shape[2]!;
  return [gatherPositions(y!, windowReverseIndex(h, w, attrs), [y!.data.length / (h * w * c), h, w, c])];
}
