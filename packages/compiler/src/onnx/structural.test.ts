import { describe, expect, it } from 'vitest';
import { hostTensor } from '@tessera/graph-dsl';
import { exportOnnx } from './index.ts';
import { structural } from './test-models.ts';
import { build, checkOnnx, maxAbsDiff, randomTensor, randomWeights, runOnnx, strides } from './test-support.ts';

const mod = (a: number, n: number) => ((a % n) + n) % n;

describe('ONNX export of data movement and reductions', () => {
  it('Roll, Slice with steps, Gather, Expand, Concat and reductions match plain loops for batch 1 and 3', async () => {
    const graph = structural();
    const weights = randomWeights(graph, 11);
    const bytes = exportOnnx(graph, { weights });
    expect(checkOnnx(bytes)).toBeUndefined();
    const table = weights.get('table.weight')!.data;
    for (const B of [1, 3]) {
      const x = randomTensor([B, 4, 6], 400 + B);
      const idx = [5, 0, 2];
      const st = strides([B, 4, 6]);
      const at = (b: number, i: number, j: number) => x.data[b * st[0]! + i * st[1]! + j]!;
      const sumOverBatch = (i: number, j: number) => Array.from({ length: B }, (_, b) => at(b, i, j)).reduce((p, q) => p + q, 0);
      const expected = {
        rolled: build([B, 4, 6], ([b, i, j]) => at(b!, mod(i! - 1, 4), mod(j! + 2, 6))),
        rolledBatch: build([B, 4, 6], ([b, i, j]) => at(mod(b! + 1, B), i!, j!)),
        stepped: build([B, 4, 3], ([b, i, j]) => at(b!, i!, 1 + 2 * j!)),
        reversed: build([B, 4, 6], ([b, i, j]) => at(b!, 3 - i!, j!)),
        steppedBack: build([B, 4, 2], ([b, i, j]) => at(b!, i!, 4 - 2 * j!)),
        window: build([B, 2, 6], ([b, i, j]) => at(b!, 1 + i!, j!)),
        gathered: build([B, 4, 3], ([b, i, k]) => at(b!, i!, idx[k!]!)),
        embedded: build([3, 6], ([k, j]) => table[idx[k!]! * 6 + j!]!),
        broadcast: build([2, B, 4, 6], ([, b, , j]) => at(b!, 0, j!)),
        expandedBatch: build([B, 4, 6], ([, i, j]) => sumOverBatch(i!, j!)),
        joined: build([B, 8, 6], ([b, i, j]) => (i! < 4 ? at(b!, i!, j!) : 2 * at(b!, i! - 4, j!))),
        stacked: build([2 * B, 4, 6], ([b, i, j]) => at(b! % B, i!, j!)),
        sum: build([B, 4], ([b, i]) => Array.from({ length: 6 }, (_, j) => at(b!, i!, j)).reduce((p, q) => p + q, 0)),
        mean: build([B, 1, 1], ([b]) => {
          let s = 0;
          for (let i = 0; i < 4; i++) for (let j = 0; j < 6; j++) s += at(b!, i, j);
          return s / 24;
        }),
        max: build([B, 6], ([b, j]) => Math.max(...Array.from({ length: 4 }, (_, i) => at(b!, i, j!)))),
        nothing: build([B, 4, 6], ([b, i, j]) => at(b!, i!, j!)),
        same: build([B, 4, 6], ([b, i, j]) => at(b!, i!, j!)),
      };
      const outputs = await runOnnx(bytes, { x, idx: hostTensor('int32', [3], idx) });
      expect(Object.keys(outputs).sort()).toEqual(Object.keys(expected).sort());
      for (const [name, want] of Object.entries(expected)) {
        const got = outputs[name]!;
        expect(got.shape, name).toEqual(want.shape);
        expect(maxAbsDiff(got.data, want.data), name).toBeLessThanOrEqual(1e-5);
      }
    }
  });
});
