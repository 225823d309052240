import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { compile } from '@tessera/compiler';
import { hostTensor, trace } from '@tessera/graph-dsl';
import { Session } from '@tessera/runtime-tfjs';
import { loadFixture, maxAbsDiff, runCatalogModel } from '../testing.ts';
import { NWKernelRegression, SquaredErrorLoss } from './nadaraya-watson.ts';

describe('Nadaraya-Watson kernel regression', () => {
  const f = loadFixture('nadaraya_watson');
  const data = { queries: f.inputs.get('x_test')!, keys: f.inputs.get('x_train')!, values: f.inputs.get('y_train')! };

  it('nonparametric: matches the closed form', async () => {
    const out = await runCatalogModel('nadaraya_watson', {}, data);
    expect(maxAbsDiff(out.output!, f.outputs.get('nonparametric')!)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(out.attention_weights!, f.outputs.get('attention_weights')!)).toBeLessThanOrEqual(1e-6);
  });

  it('parametric: matches the closed form for a given w', async () => {
    const out = await runCatalogModel('nadaraya_watson', { parametric: true }, data, new Map([['w', f.params.get('w')!]]));
    expect(maxAbsDiff(out.output!, f.outputs.get('parametric')!)).toBeLessThanOrEqual(1e-5);
  });

  it("parametric: d2l's training (leave-one-out keys, SGD lr 0.5, 5 epochs) lowers the loss", async () => {
    const x = Array.from(data.keys.data);
    const y = Array.from(data.values.data);
    const n = x.length;
    // Each training point attends to all the others.
    const others = (v: number[]) => hostTensor('float32', [n, n - 1], v.flatMap((_, i) => v.filter((_, j) => j !== i)));
    const inputs = { queries: data.keys, keys: others(x), values: others(y), targets: data.values };
    const lossModel = new SquaredErrorLoss(new NWKernelRegression());
    const graph = trace(lossModel, {
      queries: { dtype: 'float32', shape: ['N'] },
      keys: { dtype: 'float32', shape: ['N', 'M'] },
      values: { dtype: 'float32', shape: ['N', 'M'] },
      targets: { dtype: 'float32', shape: ['N'] },
    });
    expect(graph.params.map((p) => p.name)).toEqual(['regressor.w']);
    const session = await Session.create(compile(graph, { mode: 'train' }).graph, { seed: 1, mode: 'train' });
    const optimizer = tf.train.sgd(0.5);
    const losses = Array.from({ length: 5 }, () => session.trainStep(inputs, { loss: 'loss', optimizer }));
    session.dispose();
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.9);
  });
});
