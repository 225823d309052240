import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { hostTensor, Module, nn, type Tensor, trace } from '@tessera/graph-dsl';
import { Session } from './index.ts';

class SquaredOutput extends Module {
  readonly fc = new nn.Linear(3, 1);
  forward(x: Tensor<'float32', 2>) {
    const y = this.fc.forward(x).reshape([-1]);
    return { loss: y.mul(y).sum(0) };
  }
}

describe('training on a backend asked for by name', () => {
  // With 'auto', requiring tfjs-node registers tfjs's gradients as a side effect; by name it is never tried.
  it('finds the gradients without tfjs-node having been tried', async () => {
    const graph = trace(new SquaredOutput(), { x: { dtype: 'float32', shape: ['B', 3] } });
    const session = await Session.create(graph, { backend: 'wasm', mode: 'train', seed: 2 });
    const x = hostTensor('float32', [4, 3], new Array(12).fill(1));
    const optimizer = tf.train.sgd(0.01);
    const first = session.trainStep({ x }, { loss: 'loss', optimizer });
    const second = session.trainStep({ x }, { loss: 'loss', optimizer });
    session.dispose();
    expect(second).toBeLessThan(first);
  });
});
