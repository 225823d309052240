import { describe, expect, it } from 'vitest';
import { type HostTensor, hostTensor } from '@tessera/graph-dsl';
import { exportOnnx } from './index.ts';
import { convNet, maskedSoftmax, mlpBlock } from './test-models.ts';
import { checkOnnx, erf, forEachIndex, layerNormRef, linearRef, maxAbsDiff, randomTensor, randomWeights, runOnnx, softmaxRef, strides } from './test-support.ts';

const TOLERANCE = 1e-5;

describe('ONNX export runs in ONNX Runtime and matches plain-loop references', () => {
  it('a LayerNorm + Linear + GELU(erf) + softmax block, with a dynamic batch and sequence', async () => {
    const graph = mlpBlock();
    const weights = randomWeights(graph, 7);
    const bytes = exportOnnx(graph, { weights });
    expect(checkOnnx(bytes)).toBeUndefined();
    const w = (name: string) => weights.get(name)!.data;
    for (const [B, T] of [[1, 5], [3, 2]] as const) {
      const x = randomTensor([B, T, 8], 100 + B);
      const rows = B * T;
      const n = layerNormRef(x.data, rows, 8, w('norm.weight'), w('norm.bias'), 1e-5);
      const h = linearRef(n, rows, 8, w('fc1.weight'), w('fc1.bias'), 16).map((v) => 0.5 * v * (1 + erf(v / Math.SQRT2)));
      const y = linearRef(h, rows, 16, w('fc2.weight'), w('fc2.bias'), 8).map((v, i) => v + x.data[i]!);
      const expected = softmaxRef(y, rows, 8);
      const { output } = await runOnnx(bytes, { x });
      expect(output!.shape).toEqual([B, T, 8]);
      expect(maxAbsDiff(output!.data, expected)).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  it('a masked softmax: Range to a symbolic key length, Less, Where, and reshapes through B*T', async () => {
    const graph = maskedSoftmax();
    const bytes = exportOnnx(graph, { weights: new Map() });
    expect(checkOnnx(bytes)).toBeUndefined();
    for (const [B, T, S, lengths] of [[1, 2, 5, [3]], [3, 4, 6, [1, 6, 4]]] as const) {
      const scores = randomTensor([B, T, S], 200 + S, 3);
      const masked = new Float64Array(B * T * S);
      forEachIndex([B, T, S], ([b, , s], flat) => {
        masked[flat] = s! < lengths[b!]! ? scores.data[flat]! : -1e9;
      });
      const expected = softmaxRef(masked, B * T, S);
      const { output } = await runOnnx(bytes, { scores, lengths: hostTensor('int32', [B], lengths) });
      expect(output!.shape).toEqual([B, T, S]);
      expect(maxAbsDiff(output!.data, expected)).toBeLessThanOrEqual(TOLERANCE);
    }
  });

  it('strided, padded and grouped Conv2d with a dynamic batch', async () => {
    const graph = convNet();
    const weights = randomWeights(graph, 3);
    const bytes = exportOnnx(graph, { weights });
    expect(checkOnnx(bytes)).toBeUndefined();
    const conv = (x: HostTensor, w: HostTensor, b: HostTensor | undefined, stride: [number, number], pad: [number, number], groups: number) => {
      const [N, , H, W] = x.shape as [number, number, number, number];
      const [O, CI, KH, KW] = w.shape as [number, number, number, number];
      const OH = Math.floor((H + 2 * pad[0] - KH) / stride[0]) + 1;
      const OW = Math.floor((W + 2 * pad[1] - KW) / stride[1]) + 1;
      const out = hostTensor('float32', [N, O, OH, OW]);
      const [xs, ws, os] = [strides(x.shape), strides(w.shape), strides(out.shape)];
      const perGroup = O / groups;
      for (let n = 0; n < N; n++)
        for (let o = 0; o < O; o++)
          for (let oh = 0; oh < OH; oh++)
            for (let ow = 0; ow < OW; ow++) {
              let s = b ? b.data[o]! : 0;
              const g = Math.floor(o / perGroup);
              for (let ci = 0; ci < CI; ci++)
                for (let kh = 0; kh < KH; kh++)
                  for (let kw = 0; kw < KW; kw++) {
                    const ih = oh * stride[0] - pad[0] + kh;
                    const iw = ow * stride[1] - pad[1] + kw;
                    if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                    const c = g * CI + ci;
                    s += x.data[n * xs[0]! + c * xs[1]! + ih * xs[2]! + iw]! * w.data[o * ws[0]! + ci * ws[1]! + kh * ws[2]! + kw]!;
                  }
              out.data[n * os[0]! + o * os[1]! + oh * os[2]! + ow] = s;
            }
      return out;
    };
    for (const N of [1, 3]) {
      const x = randomTensor([N, 4, 7, 9], 300 + N);
      const h = conv(x, weights.get('conv1.weight')!, weights.get('conv1.bias')!, [2, 2], [1, 1], 1);
      h.data.forEach((v, i) => (h.data[i] = Math.max(0, v)));
      const expected = conv(h, weights.get('conv2.weight')!, undefined, [1, 1], [1, 0], 3);
      const { output } = await runOnnx(bytes, { x });
      expect(output!.shape).toEqual(expected.shape);
      expect(maxAbsDiff(output!.data, expected.data)).toBeLessThanOrEqual(TOLERANCE);
    }
  });
});
