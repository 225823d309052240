import { describe, expect, it } from 'vitest';
import { ConfigError, initialWeights, Module, nn, OpError, printGraph, type Tensor, trace } from './index.ts';

class Block extends Module {
  readonly fc1 = new nn.Linear(8, 16);
  readonly fc2 = new nn.Linear(16, 8, false);
  readonly norm = new nn.LayerNorm(8);
  forward(x: Tensor<'float32', 3>) {
    return this.norm.forward(x.add(this.fc2.forward(this.fc1.forward(x).relu())));
  }
}

class Stack extends Module {
  readonly layers = [new Block(), new Block()];
  forward(x: Tensor<'float32', 3>) {
    return this.layers.reduce((h, layer) => layer.forward(h), x);
  }
}

class Broken extends Module {
  readonly fc = new nn.Linear(4, 4);
  forward(x: Tensor<'float32', 3>) {
    return this.fc.forward(x);
  }
}

describe('modules and tracing', () => {
  it('names parameters by dotted paths like a PyTorch state_dict', () => {
    expect(new Stack().namedParameters().map(([n]) => n)).toEqual([
      'layers.0.fc1.weight', 'layers.0.fc1.bias', 'layers.0.fc2.weight', 'layers.0.norm.weight', 'layers.0.norm.bias',
      'layers.1.fc1.weight', 'layers.1.fc1.bias', 'layers.1.fc2.weight', 'layers.1.norm.weight', 'layers.1.norm.bias',
    ]);
  });

  it('stateDict: the initial weights by state_dict name, as the trace initializes them, without tracing', () => {
    class Tied extends Module {
      readonly embed = new nn.Linear(8, 8);
      readonly head = this.embed; // one parameter under two names, as tied embeddings are
      readonly block = new Block();
      forward(x: Tensor<'float32', 3>) {
        return this.head.forward(this.block.forward(this.embed.forward(x)));
      }
    }
    const model = new Tied();
    const state = model.stateDict(7);
    expect([...state.keys()]).toEqual(['embed.weight', 'embed.bias', 'block.fc1.weight', 'block.fc1.bias', 'block.fc2.weight', 'block.norm.weight', 'block.norm.bias']);
    const traced = initialWeights(trace(model, { x: { dtype: 'float32', shape: ['B', 'T', 8] } }), 7);
    expect([...traced.keys()]).toEqual([...state.keys()]);
    for (const [k, t] of state) {
      expect(t.shape, k).toEqual(traced.get(k)!.shape);
      expect([...t.data], k).toEqual([...traced.get(k)!.data]);
    }
    // PyTorch's initializers: Linear uniform within 1/sqrt(in_features), LayerNorm ones and zeros
    expect(state.get('block.fc1.weight')!.shape).toEqual([16, 8]);
    expect(Math.max(...state.get('block.fc1.weight')!.data.map(Math.abs))).toBeLessThanOrEqual(1 / Math.sqrt(8));
    expect(new Set(state.get('block.fc1.weight')!.data).size).toBe(16 * 8);
    expect([...state.get('block.norm.weight')!.data]).toEqual(Array(8).fill(1));
    expect([...state.get('block.norm.bias')!.data]).toEqual(Array(8).fill(0));
    expect([...model.stateDict(8).get('embed.weight')!.data]).not.toEqual([...state.get('embed.weight')!.data]);
  });

  it('says plainly when forward returns something other than tensors', () => {
    const returning = (value: (x: Tensor) => unknown) =>
      new (class extends Module {
        forward(x: Tensor<'float32', 2>) {
          return value(x) as Tensor;
        }
      })();
    const inputs = { x: { dtype: 'float32', shape: ['B', 4] } } as const;
    expect(() => trace(returning(() => undefined), inputs)).toThrow(/^trace: forward returned undefined, not a Tensor: it must return a Tensor, an array of Tensors or an object of Tensors \(is a return missing\?\)$/);
    expect(() => trace(returning(() => 3), inputs)).toThrow(/forward returned a number, not a Tensor/);
    expect(() => trace(returning((x) => [x, 'y']), inputs)).toThrow(/forward returned at \[1\] a string, not a Tensor/);
    expect(() => trace(returning((x) => ({ y: x, z: null })), inputs)).toThrow(/forward returned at \.z null, not a Tensor/);
    expect(() => trace(returning((x) => [x, x]), inputs, ['a', 'b', 'c'])).toThrow(/^trace: forward returned 2 tensors but 3 output names were given \(a, b, c\)$/);
    expect(() => trace(returning(() => undefined), inputs)).toThrow(ConfigError);
  });

  it('records a typed graph with symbolic dims, module scopes and source lines', () => {
    const graph = trace(new Stack(), { x: { dtype: 'float32', shape: ['B', 'T', 8] } });
    const text = printGraph(graph);
    expect(text).toContain('graph(%x: f32[B, T, 8])');
    expect(text).toContain('param %layers.1.fc2.weight: f32[8, 16]');
    expect(text).toMatch(/MatMul\(%x, %\d+\)\s+# .*module\.test\.ts:\d+ \(layers\.0\.fc1\)/);
    expect(graph.outputs).toHaveLength(1);
    expect(graph.types.get(graph.outputs[0]!.value)!.shape.map(String)).toEqual(['B', 'T', '8']);
  });

  it('reports a shape mismatch at the line of the model that made it', () => {
    let error: unknown;
    try {
      trace(new Broken(), { x: { dtype: 'float32', shape: [2, 3, 5] } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(OpError);
    const message = (error as Error).message;
    expect(message).toContain('MatMul: the last dim of a (5) must equal the second-to-last dim of b (4)');
    expect(message).toContain('a: f32[2, 3, 5], b: f32[4, 4]');
    expect(message).toMatch(/at .*module\.test\.ts:\d+:\d+ in fc/);
  });

  it('rejects broadcasting symbolic dims that differ', () => {
    class Mix extends Module {
      forward(a: Tensor<'float32', 2>, b: Tensor<'float32', 2>) {
        return a.add(b);
      }
    }
    expect(() => trace(new Mix(), { a: { dtype: 'float32', shape: ['B', 4] }, b: { dtype: 'float32', shape: ['T', 4] } })).toThrow(/Add: shapes \[B, 4\] and \[T, 4\] do not broadcast: dimension -2 is B in one and T in another/);
  });
});
