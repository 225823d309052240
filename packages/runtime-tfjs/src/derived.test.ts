/** A session keeps tensors derived from its weights (wasm's transposed Linear weights) only while the weights stay the same. */
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Graph, hostTensor, maxAbsDiff, Module, nn, type Node, type Tensor, trace } from '@tessera/graph-dsl';
import { initBackend } from './backend.ts';
import { Session } from './session.ts';

beforeAll(async () => {
  await initBackend('wasm');
});

class Mlp extends Module {
  readonly fc1 = new nn.Linear(4, 6);
  readonly fc2 = new nn.Linear(6, 1);
  forward(x: Tensor<'float32', 2>) {
    const y = this.fc2.forward(this.fc1.forward(x).relu());
    return { y, loss: y.mul(y).mean([0, 1]) };
  }
}

/** The traced MLP with its products as Linear nodes, as the compiler's fusion leaves them. */
function linearGraph(): Graph {
  const g = trace(new Mlp(), { x: { dtype: 'float32', shape: ['B', 4] } });
  const nodes = g.nodes.flatMap((n): Node[] => {
    if (n.op === 'Transpose') return [];
    if (n.op !== 'MatMul') return [n];
    const transposed = g.nodes.find((t) => t.outputs[0] === n.inputs[1])!;
    return [{ op: 'Linear', attrs: {}, inputs: [n.inputs[0]!, transposed.inputs[0]!, null], outputs: n.outputs }];
  });
  return { ...g, nodes };
}

describe('derived weights', () => {
  const x = hostTensor('float32', [3, 4], Array.from({ length: 12 }, (_, i) => Math.cos(i)));

  it('follow the weights: after loadWeights and after a training step, a run equals a fresh session on the new weights', async () => {
    const graph = linearGraph();
    expect(graph.nodes.filter((n) => n.op === 'Linear')).toHaveLength(2);
    const session = await Session.create(graph, { seed: 1 });
    const first = (await session.run({ x })).y!;
    const other = (await Session.create(graph, { seed: 2 })).getWeights();
    session.loadWeights(other);
    const reloaded = (await session.run({ x })).y!;
    const fresh = await Session.create(graph, { weights: other });
    expect(maxAbsDiff(reloaded, (await fresh.run({ x })).y!)).toBe(0);
    expect(maxAbsDiff(reloaded, first)).toBeGreaterThan(1e-3);

    session.trainStep({ x }, { loss: 'loss', optimizer: tf.train.sgd(0.5) });
    const trained = (await session.run({ x })).y!;
    const again = await Session.create(graph, { weights: session.getWeights() });
    expect(maxAbsDiff(trained, (await again.run({ x })).y!)).toBe(0);
    expect(maxAbsDiff(trained, reloaded)).toBeGreaterThan(1e-4);
    const xs = tf.tensor(x.data, [3, 4]);
    const count = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) tf.dispose(Object.values(session.runTensors({ x: xs })));
    expect(tf.memory().numTensors).toBe(count);
    xs.dispose();
    for (const s of [session, fresh, again]) s.dispose();
  });
});
