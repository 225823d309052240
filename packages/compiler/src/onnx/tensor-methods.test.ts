import { describe, expect, it } from 'vitest';
import { type HostTensor } from '@tessera/graph-dsl';
import { interpret } from '../host/interpret.ts';
import { exportOnnx } from './index.ts';
import { tensorMethods } from './test-models.ts';
import { build, checkOnnx, maxAbsDiff, randomTensor, runOnnx, strides } from './test-support.ts';

describe('chunk, split, unbind, select, narrow, masked_fill, view, F.pad and F.interpolate on the host and in ONNX Runtime', () => {
  it('match plain loops (interpolate: the host and ONNX Runtime agree) for batch 1 and 3, and pass onnx.checker', async () => {
    const graph = tensorMethods();
    const bytes = exportOnnx(graph, {});
    expect(checkOnnx(bytes)).toBeUndefined();
    for (const B of [1, 3]) {
      const x = randomTensor([B, 6, 4], 700 + B);
      const image = randomTensor([B, 2, 5, 7], 800 + B);
      const st = strides([B, 6, 4]);
      const at = (b: number, i: number, j: number) => x.data[b * st[0]! + i * st[1]! + j]!;
      const flat = (b: number, k: number) => at(b, Math.floor(k / 4), k % 4);
      const expected = {
        chunkLast: build([B, 2, 4], ([b, i, j]) => at(b!, 4 + i!, j!)),
        splitFirst: build([B, 1, 4], ([b, , j]) => at(b!, 0, j!)),
        splitRest: build([B, 5, 4], ([b, i, j]) => at(b!, 1 + i!, j!)),
        unbound: build([B, 6], ([b, i]) => at(b!, i!, 3)),
        selected: build([B, 4], ([b, j]) => at(b!, 5, j!)),
        narrowed: build([B, 3, 4], ([b, i, j]) => at(b!, 2 + i!, j!)),
        filled: build([B, 6, 4], ([b, i, j]) => (at(b!, i!, j!) > 0.5 ? -1 : at(b!, i!, j!))),
        viewed: build([B, 3, 8], ([b, i, j]) => flat(b!, i! * 8 + j!)),
        padded: build([B, 5, 7], ([b, i, j]) => (j! >= 1 && j! < 5 ? at(b!, i! + 1, j! - 1) : 0)),
        intPadded: build([B + 1, 6, 4], ([b, i, j]) => (b === 0 ? 7 : Math.trunc(4 * Math.fround(at(b! - 1, i!, j!))))),
        bilinearKept: image,
      };
      const inputs = { x, image };
      const host = interpret(graph, inputs);
      const ort = await runOnnx(bytes, inputs);
      for (const [name, want] of Object.entries(expected)) {
        for (const [where, got] of [['host', host[name]!], ['onnxruntime', ort[name]!]] as const) {
          expect(got.shape, `${where} ${name}`).toEqual(want.shape);
          expect(maxAbsDiff(got.data, want.data), `${where} ${name}`).toBeLessThanOrEqual(1e-6);
        }
      }
      for (const [name, shape] of [['bilinear', [B, 2, 8, 3]], ['bicubic', [B, 2, 7, 10]], ['bicubicCorners', [B, 2, 3, 9]]] as const) {
        const [h, o]: HostTensor[] = [host[name]!, ort[name]!];
        expect(h.shape, name).toEqual(shape);
        expect(o.shape, name).toEqual(shape);
        expect(maxAbsDiff(h.data, o.data), name).toBeLessThanOrEqual(1e-5);
      }
    }
  });
});
