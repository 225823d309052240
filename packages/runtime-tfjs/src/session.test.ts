import * as tf from '@tensorflow/tfjs-core';
import { arange, F, type HostTensor, hostTensor, Module, nn, type Tensor, trace } from '@tessera/graph-dsl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend.ts';
import { InputError, WeightsError } from '@tessera/graph-dsl';
import { LoweringError } from './errors.ts';
import { lowerGraph, printPlan } from './plan.ts';
import { Session } from './session.ts';

beforeAll(async () => {
  await initBackend();
});

class Mlp extends Module {
  readonly fc1 = new nn.Linear(4, 6);
  readonly fc2 = new nn.Linear(6, 3);
  forward(x: Tensor<'float32', 2>) {
    return this.fc2.forward(this.fc1.forward(x).relu());
  }
}

const mlpGraph = () => trace(new Mlp(), { x: { dtype: 'float32', shape: ['B', 4] } });

/** The MLP written out in plain JS from the session's weights. */
function reference(weights: Map<string, HostTensor>, x: number[], batch: number): number[] {
  const linear = (input: number[], rows: number, name: string, inF: number, outF: number) => {
    const w = weights.get(`${name}.weight`)!.data;
    const b = weights.get(`${name}.bias`)!.data;
    const out: number[] = [];
    for (let r = 0; r < rows; r++) for (let o = 0; o < outF; o++) {
      let s = b[o]!;
      for (let i = 0; i < inF; i++) s += input[r * inF + i]! * w[o * inF + i]!;
      out.push(s);
    }
    return out;
  };
  const h = linear(x, batch, 'fc1', 4, 6).map((v) => Math.max(0, v));
  return linear(h, batch, 'fc2', 6, 3);
}

const input = (batch: number) => hostTensor('float32', [batch, 4], Array.from({ length: batch * 4 }, (_, i) => Math.sin(i + 1)));

function expectClose(actual: ArrayLike<number>, expected: readonly number[], tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  Array.from(actual).forEach((a, i) => expect(Math.abs(a - expected[i]!)).toBeLessThan(tol));
}

describe('lowering', () => {
  it('maps each op to one step (fusions are the compiler\'s) and frees each intermediate once', () => {
    const graph = mlpGraph();
    const plan = lowerGraph(graph);
    expect(plan.steps.map((s) => s.label)).toEqual(graph.nodes.map((n) => n.op));
    expect(printPlan(plan)).toMatch(/Transpose\(%fc1\.weight\)/);
    const freed = plan.steps.flatMap((s) => s.free);
    expect(new Set(freed).size).toBe(freed.length);
    expect(freed).not.toContain(graph.outputs[0]!.value);
    expect(plan.symbols).toEqual(['B']);
  });

  it('refuses a symbol that no input binds', () => {
    class Odd extends Module {
      forward(x: Tensor<'float32', 1>) {
        return arange(x, 'N');
      }
    }
    const graph = trace(new Odd(), { x: { dtype: 'float32', shape: ['T'] } });
    expect(() => lowerGraph(graph)).toThrow(LoweringError);
    expect(() => lowerGraph(graph)).toThrow(/^Range \(at .*session\.test\.ts:\d+:\d+\) uses the symbol N, which no input shape has, so a run could not give it a value/);
  });
});

describe('Session', () => {
  let session: Session;
  beforeAll(async () => {
    session = await Session.create(mlpGraph(), { seed: 3, checkShapes: true });
  });
  afterAll(() => session.dispose());

  it('runs a dynamic batch: batch 1 and batch 5 on one session, matching a JS reference', async () => {
    expect(session.backend.name).toBe('wasm');
    const weights = session.getWeights();
    for (const batch of [1, 5]) {
      const x = input(batch);
      const { output } = await session.run({ x });
      expect(output!.shape).toEqual([batch, 3]);
      expectClose(output!.data, reference(weights, Array.from(x.data), batch), 1e-5);
    }
  });

  it('keeps the tensor count stable over 100 runs', async () => {
    const x = input(5);
    await session.run({ x });
    const xs = tf.tensor(x.data, [5, 4]);
    tf.dispose(Object.values(session.runTensors({ x: xs })));
    const after1 = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) {
      tf.dispose(Object.values(session.runTensors({ x: xs })));
      await session.run({ x: input(1 + (i % 4)) });
    }
    expect(tf.memory().numTensors).toBe(after1);
    xs.dispose();
  });

  it('reports wrong inputs with the name, the expected dtype and shape, and what was given', async () => {
    const x = input(2);
    await expect(session.run({ x, y: x })).rejects.toThrow(InputError);
    await expect(session.run({ x, y: x })).rejects.toThrow(/unknown input 'y' \(float32 \[2, 4\]\): the graph's inputs are x: float32 \[B, 4\]/);
    await expect(session.run({})).rejects.toThrow(/missing input 'x': it must be float32 \[B, 4\]; the inputs given were none/);
    await expect(session.run({ x: hostTensor('int32', [2, 4]) })).rejects.toThrow(/input 'x' must be float32 \[B, 4\], but a int32 \[2, 4\] tensor was given: wrong dtype/);
    await expect(session.run({ x: hostTensor('float32', [8]) })).rejects.toThrow(/input 'x' must be float32 \[B, 4\] \(rank 2\), but a float32 \[8\] tensor \(rank 1\) was given/);
    await expect(session.run({ x: hostTensor('float32', [2, 5]) })).rejects.toThrow(/input 'x' must be float32 \[B, 4\], which is \[2, 4\] with B=2 from input 'x' dim 0, but a float32 \[2, 5\] tensor was given: dimension 1 is 5, expected 4/);
    await expect(session.run({ x: { dtype: 'float32', shape: [2, 4], data: new Float32Array(3) } })).rejects.toThrow(/input 'x' says shape \[2, 4\] \(8 elements\) but holds 3 values/);
  });

  it('reports every weights problem at once', () => {
    const good = session.getWeights();
    const bad = new Map(good);
    bad.delete('fc1.weight');
    bad.delete('fc2.bias');
    bad.set('head.weight', hostTensor('float32', [2, 2]));
    bad.set('fc1.bias', hostTensor('float32', [7]));
    let error: unknown;
    try {
      session.loadWeights(bad);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WeightsError);
    const message = (error as Error).message;
    expect(message).toContain("the weights do not fit the model's 4 parameters");
    expect(message).toContain('2 missing (fc1.weight [6, 4], fc2.bias [3])');
    expect(message).toContain('1 unexpected (head.weight [2, 2])');
    expect(message).toContain('1 with the wrong shape or dtype (fc1.bias: expected [6], got [7])');
    expect((error as WeightsError).missing).toEqual(['fc1.weight', 'fc2.bias']);
    // Nothing was loaded.
    expect(session.getWeights().get('fc1.bias')!.data).toEqual(good.get('fc1.bias')!.data);
  });

  it('loads weights by name, strictly or not, and reads them back', async () => {
    const before = session.getWeights();
    const zeros = new Map([...before].map(([k, v]) => [k, hostTensor('float32', v.shape)]));
    session.loadWeights(zeros);
    const { output } = await session.run({ x: input(2) });
    expect(Array.from(output!.data)).toEqual([0, 0, 0, 0, 0, 0]);
    session.loadWeights({ 'fc2.bias': hostTensor('float32', [3], [1, 2, 3]), extra: hostTensor('float32', [1]) }, { strict: false });
    expect(Array.from((await session.run({ x: input(1) })).output!.data)).toEqual([1, 2, 3]);
    session.loadWeights(before);
    expect(session.getWeights()).toEqual(before);
  });

  it('starts from given weights and checks them', async () => {
    const weights = session.getWeights();
    const copy = await Session.create(mlpGraph(), { weights });
    const x = input(3);
    expect((await copy.run({ x })).output).toEqual((await session.run({ x })).output);
    copy.dispose();
    await expect(Session.create(mlpGraph(), { weights: new Map() })).rejects.toThrow(/4 missing \(fc1\.weight \[6, 4\], fc1\.bias \[6\], fc2\.weight \[3, 6\], fc2\.bias \[3\]\)/);
  });
});

describe('symbols, dtypes and ownership', () => {
  class Pair extends Module {
    forward(a: Tensor<'float32', 2>, b: Tensor<'float32', 2>) {
      return a.add(b);
    }
  }

  it('binds a symbol once across inputs and reports a disagreement', async () => {
    const s = await Session.create(trace(new Pair(), { a: { dtype: 'float32', shape: ['B', 2] }, b: { dtype: 'float32', shape: ['B', 2] } }));
    const out = await s.run({ a: hostTensor('float32', [3, 2], [1, 2, 3, 4, 5, 6]), b: hostTensor('float32', [3, 2], [1, 1, 1, 1, 1, 1]) });
    expect(Array.from(out.output!.data)).toEqual([2, 3, 4, 5, 6, 7]);
    await expect(s.run({ a: hostTensor('float32', [2, 2]), b: hostTensor('float32', [3, 2]) })).rejects.toThrow(
      /input 'b' must be float32 \[B, 2\], which is \[2, 2\] with B=2 from input 'a' dim 0, but a float32 \[3, 2\] tensor was given: dimension 0 is 3, expected 2/,
    );
    s.dispose();
  });

  it('solves compound dims and runs a range to a symbolic end', async () => {
    class Positions extends Module {
      forward(x: Tensor<'float32', 2>) {
        const t = arange(x, 'T', { dtype: 'float32' }) as Tensor<'float32', 1>;
        return x.slice(1, 1).add(t);
      }
    }
    const s = await Session.create(trace(new Positions(), { x: { dtype: 'float32', shape: ['B', 'T+1'] } }), { checkShapes: true });
    for (const t of [3, 5]) {
      const { output } = await s.run({ x: hostTensor('float32', [2, t + 1]) });
      expect(output!.shape).toEqual([2, t]);
      expect(Array.from(output!.data)).toEqual([...Array.from({ length: t }, (_, i) => i), ...Array.from({ length: t }, (_, i) => i)]);
    }
    s.dispose();
  });

  it('takes int32 or bool data for an int32 input', async () => {
    class Embed extends Module {
      readonly emb = new nn.Embedding(3, 2);
      forward(ids: Tensor<'int32', 1>) {
        return this.emb.forward(ids);
      }
    }
    const s = await Session.create(trace(new Embed(), { ids: { dtype: 'int32', shape: ['N'] } }));
    const table = s.getWeights().get('emb.weight')!.data;
    const fromInt = await s.run({ ids: hostTensor('int32', [3], [1, 0, 1]) });
    const fromBool = await s.run({ ids: hostTensor('bool', [3], [1, 0, 1]) });
    expect(Array.from(fromInt.output!.data)).toEqual([table[2], table[3], table[0], table[1], table[2], table[3]]);
    expect(fromBool.output).toEqual(fromInt.output);
    await expect(s.run({ ids: hostTensor('float32', [3]) })).rejects.toThrow(/input 'ids' must be int32 \[N\], but a float32 \[3\] tensor was given: wrong dtype \(int32 inputs take int32 or bool\)/);
    const n = tf.memory().numTensors;
    const ids = tf.tensor([1, 0], [2], 'bool');
    tf.dispose(Object.values(s.runTensors({ ids })));
    ids.dispose();
    expect(tf.memory().numTensors).toBe(n);
    s.dispose();
  });

  it('names the step and the source line when a run fails, and frees what the run made', async () => {
    class Halves extends Module {
      forward(x: Tensor<'float32', 1>) {
        return x.mul(2).reshape(['T/2', 2]);
      }
    }
    const s = await Session.create(trace(new Halves(), { x: { dtype: 'float32', shape: ['T'] } }));
    expect(Array.from((await s.run({ x: hostTensor('float32', [4], [1, 2, 3, 4]) })).output!.data)).toEqual([2, 4, 6, 8]);
    const x = tf.tensor([1, 2, 3]);
    const n = tf.memory().numTensors;
    expect(() => s.runTensors({ x })).toThrow(/^Reshape at .*session\.test\.ts:\d+:\d+ failed on float32 \[3\]: dimension T\/2 is 3\/2 for T=3: it must be a whole number/);
    expect(tf.memory().numTensors).toBe(n);
    x.dispose();
    s.dispose();
  });

  it('gives the caller its own tensor for an output that is an input or appears twice', async () => {
    class Echo extends Module {
      forward(x: Tensor<'float32', 1>) {
        const y = F.relu(x);
        return { same: x, y, again: y };
      }
    }
    const s = await Session.create(trace(new Echo(), { x: { dtype: 'float32', shape: [2] } }));
    const x = tf.tensor([-1, 2]);
    const n = tf.memory().numTensors;
    const out = s.runTensors({ x });
    expect(out.same).not.toBe(x);
    expect(out.y).not.toBe(out.again);
    tf.dispose(Object.values(out));
    expect(Array.from(x.dataSync())).toEqual([-1, 2]);
    expect(tf.memory().numTensors).toBe(n);
    x.dispose();
    s.dispose();
  });
});
