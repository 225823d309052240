import * as tf from '@tensorflow/tfjs-core';
import { F, hostTensor, Module, nn, type Tensor, trace } from '@tessera/graph-dsl';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend.ts';
import { Session } from './session.ts';

beforeAll(async () => {
  await initBackend();
});

/** Linear regression that computes its own loss: MSE written with DSL ops. */
class Regression extends Module {
  readonly fc = new nn.Linear(3, 2);
  forward(x: Tensor<'float32', 2>, y: Tensor<'float32', 2>) {
    const pred = this.fc.forward(x);
    const diff = pred.sub(y);
    return { pred, loss: diff.mul(diff).mean([0, 1]) };
  }
}

const regressionGraph = () => trace(new Regression(), { x: { dtype: 'float32', shape: ['B', 3] }, y: { dtype: 'float32', shape: ['B', 2] } });

/** y = x W^T + b for a fixed W and b. */
function data(batch: number, offset = 0) {
  const W = [[1.5, -2, 0.5], [0.25, 1, -1]];
  const b = [0.3, -0.7];
  const x = Array.from({ length: batch * 3 }, (_, i) => Math.sin(1.7 * (i + offset) + 0.3));
  const y: number[] = [];
  for (let r = 0; r < batch; r++) for (let o = 0; o < 2; o++) y.push(b[o]! + W[o]!.reduce((s, w, i) => s + w * x[r * 3 + i]!, 0));
  return { x: hostTensor('float32', [batch, 3], x), y: hostTensor('float32', [batch, 2], y) };
}

describe('training', () => {
  for (const [name, make] of [['sgd', () => tf.train.sgd(0.2)], ['adam', () => tf.train.adam(0.05)]] as const) {
    it(`fits a linear regression with ${name}: the loss falls 10x and the tensor count stays put`, async () => {
      const session = await Session.create(regressionGraph(), { seed: 1, mode: 'train' });
      const optimizer = make();
      const batch = data(32);
      const first = session.trainStep(batch, { loss: 'loss', optimizer });
      session.trainStep(batch, { loss: 'loss', optimizer }); // optimizer slots exist from here on
      const count = tf.memory().numTensors;
      let last = first;
      for (let i = 0; i < 150; i++) last = session.trainStep(batch, { loss: 'loss', optimizer });
      expect(tf.memory().numTensors).toBe(count);
      expect(last).toBeLessThan(first / 10);
      // The loss the session reports is the graph's own output.
      const { loss } = await session.run(batch);
      expect(loss!.data[0]).toBeLessThan(first / 10);
      optimizer.dispose();
      session.dispose();
    });
  }

  it('trains with a dynamic batch and takes tf tensors as inputs', async () => {
    const session = await Session.create(regressionGraph(), { seed: 2 });
    const optimizer = tf.train.sgd(0.2);
    const losses: number[] = [];
    for (let i = 0; i < 60; i++) {
      const { x, y } = data(4 + (i % 5), i * 7);
      const xs = tf.tensor(x.data, [...x.shape]);
      const ys = tf.tensor(y.data, [...y.shape]);
      losses.push(session.trainStep({ x: xs, y: ys }, { loss: 'loss', optimizer }));
      tf.dispose([xs, ys]);
    }
    expect(losses.slice(-5).every((l) => l < losses[0]! / 10)).toBe(true);
    optimizer.dispose();
    session.dispose();
  });

  it('clips the global gradient norm', async () => {
    const session = await Session.create(regressionGraph(), { seed: 1 });
    const before = session.getWeights();
    session.trainStep(data(16), { loss: 'loss', optimizer: tf.train.sgd(1), clipNorm: 0.01 });
    const after = session.getWeights();
    let squared = 0;
    for (const [k, v] of before) v.data.forEach((w, i) => (squared += (after.get(k)!.data[i]! - w) ** 2));
    // SGD with lr 1 moves the weights by exactly the clipped gradient.
    expect(Math.sqrt(squared)).toBeCloseTo(0.01, 4);
  });

  it('refuses a loss that is not a float scalar output', async () => {
    const session = await Session.create(regressionGraph());
    const optimizer = tf.train.sgd(0.1);
    expect(() => session.trainStep(data(4), { loss: 'nope', optimizer })).toThrow(/the graph has no output 'nope'; its outputs are pred, loss/);
    expect(() => session.trainStep(data(4), { loss: 'pred', optimizer })).toThrow(/the loss output 'pred' has shape \[4, 2\]; it must be a scalar/);
    session.dispose();
  });

  it('makes dropout active in train mode only', async () => {
    class Noisy extends Module {
      forward(x: Tensor<'float32', 2>) {
        return F.dropout(x, 0.5);
      }
    }
    const session = await Session.create(trace(new Noisy(), { x: { dtype: 'float32', shape: ['B', 64] } }), { seed: 4 });
    const x = hostTensor('float32', [2, 64], new Array(128).fill(1));
    expect(Array.from((await session.run({ x })).output!.data).every((v) => v === 1)).toBe(true);
    session.mode = 'train';
    const a = Array.from((await session.run({ x })).output!.data);
    const b = Array.from((await session.run({ x })).output!.data);
    expect(a.every((v) => v === 0 || v === 2)).toBe(true);
    expect(a.filter((v) => v === 0).length).toBeGreaterThan(30);
    expect(a).not.toEqual(b);
    session.dispose();
  });
});

describe('gradients through every differentiable kernel', () => {
  class Everything extends Module {
    readonly conv = new nn.Conv2d(2, 4, 3, { padding: 1, stride: 2 });
    readonly depthwise = new nn.Conv2d(4, 4, 3, { padding: 1, groups: 4 });
    readonly grouped = new nn.Conv2d(4, 4, 1, { groups: 2 });
    readonly emb = new nn.Embedding(5, 4);
    readonly norm = new nn.LayerNorm(4);
    readonly fc = new nn.Linear(4, 4);
    forward(img: Tensor<'float32', 4>, ids: Tensor<'int32', 2>) {
      const c = this.grouped.forward(this.depthwise.forward(this.conv.forward(img))); // [B, 4, 3, 3]
      let h = c.flatten(2).transpose(1, 2) as Tensor<'float32', 3>; // [B, 9, 4]
      h = h.roll(1, 1).slice(1, 0, undefined, 2); // [B, 5, 4]
      h = F.cat([h, this.emb.forward(ids) as Tensor<'float32', 3>], 1); // [B, 9, 4]
      h = F.gelu(this.fc.forward(this.norm.forward(h)));
      const attention = h.matmul(h.mT).softmax(1) as Tensor<'float32', 3>;
      h = attention.matmul(h) as Tensor<'float32', 3>;
      h = F.where(h.gt(0), h, h.mul(0.1)) as Tensor<'float32', 3>;
      const peak = h.amax(-1).mean([0, 1]);
      return { loss: h.mul(h).mean([0, 1, 2]).add(peak) };
    }
  }

  it('moves every parameter, finitely, and the same on wasm (with its bridged kernels) as on cpu', async () => {
    const graph = trace(new Everything(), { img: { dtype: 'float32', shape: ['B', 2, 6, 6] }, ids: { dtype: 'int32', shape: ['B', 4] } });
    const inputs = {
      img: hostTensor('float32', [2, 2, 6, 6], Array.from({ length: 144 }, (_, i) => Math.sin(i))),
      ids: hostTensor('int32', [2, 4], [0, 1, 2, 3, 4, 3, 2, 1]),
    };
    const stepped = async (backend: 'wasm' | 'cpu') => {
      const session = await Session.create(graph, { seed: 5, checkShapes: true, backend });
      const optimizer = tf.train.sgd(0.1);
      const before = session.getWeights();
      const loss = session.trainStep(inputs, { loss: 'loss', optimizer });
      const after = session.getWeights();
      const count = tf.memory().numTensors;
      session.trainStep(inputs, { loss: 'loss', optimizer });
      expect(tf.memory().numTensors).toBe(count);
      optimizer.dispose();
      session.dispose();
      return { loss, before, after };
    };
    try {
      const wasm = await stepped('wasm');
      const cpu = await stepped('cpu');
      expect(Number.isFinite(wasm.loss)).toBe(true);
      expect(wasm.loss).toBeCloseTo(cpu.loss, 5);
      for (const [name, v] of wasm.before) {
        const after = wasm.after.get(name)!.data;
        const moved = after.some((w, i) => w !== v.data[i]);
        expect({ name, moved, finite: after.every(Number.isFinite) }).toEqual({ name, moved: true, finite: true });
        const diff = Math.max(...Array.from(after, (w, i) => Math.abs(w - cpu.after.get(name)!.data[i]!)));
        expect({ name, diff: diff < 1e-5 }).toEqual({ name, diff: true });
      }
    } finally {
      await initBackend('wasm');
    }
  });
});
