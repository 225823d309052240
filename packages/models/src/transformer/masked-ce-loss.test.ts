import { describe, expect, it } from 'vitest';
import { compile } from '@tessera/compiler';
import { hostTensor, type InputSpec, Module, type Tensor, trace } from '@tessera/graph-dsl';
import { Session } from '@tessera/runtime-tfjs';
import { maskedSoftmaxCELoss } from './masked-ce-loss.ts';

class Loss extends Module {
  constructor(readonly smoothing: number) {
    super();
  }
  forward(...[logits, labels, lens]: Tensor[]): Tensor {
    return maskedSoftmaxCELoss(logits as Tensor<'float32', 3>, labels as Tensor<'int32', 2>, lens as Tensor<'int32', 1>, this.smoothing) as Tensor;
  }
}

/** The loss written out in plain JS: mean over valid positions of -sum_v target_v log softmax_v. */
function reference(logits: number[], labels: number[], lens: number[], T: number, V: number, e: number): number {
  let sum = 0;
  let count = 0;
  lens.forEach((len, b) => {
    for (let t = 0; t < len; t++) {
      const row = logits.slice((b * T + t) * V, (b * T + t + 1) * V);
      const lse = Math.log(row.reduce((s, x) => s + Math.exp(x), 0));
      row.forEach((x, v) => (sum -= ((v === labels[b * T + t] ? 1 - e : 0) + e / V) * (x - lse)));
      count++;
    }
  });
  return sum / count;
}

describe("d2l's masked softmax cross-entropy", () => {
  const [B, T, V] = [2, 3, 4];
  const logits = Array.from({ length: B * T * V }, (_, i) => Math.sin(i * 1.7) * 3);
  const labels = [1, 2, 3, 0, 1, 2];
  const lens = [3, 1];
  for (const e of [0, 0.1]) {
    it(`averages over the valid target positions only (label smoothing ${e})`, async () => {
      const specs: Record<string, InputSpec> = { logits: { dtype: 'float32', shape: ['B', 'T', V] }, labels: { dtype: 'int32', shape: ['B', 'T'] }, lens: { dtype: 'int32', shape: ['B'] } };
      const g = compile(trace(new Loss(e), specs), {}).graph;
      const s = await Session.create(g);
      const inputs = { logits: hostTensor('float32', [B, T, V], logits), labels: hostTensor('int32', [B, T], labels), lens: hostTensor('int32', [B], lens) };
      const { output } = await s.run(inputs);
      expect(output!.data[0]).toBeCloseTo(reference(logits, labels, lens, T, V, e), 5);
      // what lies past the valid lengths does not count
      const { output: changed } = await s.run({ ...inputs, labels: hostTensor('int32', [B, T], [1, 2, 3, 0, 3, 3]) });
      expect(changed!.data[0]).toBeCloseTo(output!.data[0]!, 6);
      s.dispose();
    });
  }
});
