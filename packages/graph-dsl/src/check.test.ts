import { describe, expect, it } from 'vitest';
import { bindInputs, checkWeights, hostTensor, Module, nn, type Tensor, trace } from './index.ts';

class Model extends Module {
  readonly proj = new nn.Linear(4, 3);
  forward(x: Tensor<'float32', 3>, mask: Tensor<'bool', 2>) {
    return this.proj.forward(x).mul(mask.unsqueeze(-1).to('float32'));
  }
}
const graph = trace(new Model(), { x: { dtype: 'float32', shape: ['B', 'T', 4] }, mask: { dtype: 'bool', shape: ['B', 'T'] } });

describe('checkWeights', () => {
  it('names missing, unexpected and mis-shaped keys with the file', () => {
    const weights = new Map([
      ['proj.weight', hostTensor('float32', [4, 3])],
      ['proj.extra', hostTensor('float32', [2])],
    ]);
    expect(() => checkWeights(graph, weights, 'w.safetensors')).toThrow(
      "weights w.safetensors do not fit the model: missing key 'proj.bias' [3]; unexpected key 'proj.extra' [2]; 'proj.weight' has shape [4, 3], the model expects [3, 4]",
    );
  });
  it('accepts a complete state_dict', () => {
    expect(() => checkWeights(graph, new Map([['proj.weight', hostTensor('float32', [3, 4])], ['proj.bias', hostTensor('float32', [3])]]))).not.toThrow();
  });
});

describe('bindInputs', () => {
  it('binds symbolic dims from the given shapes', () => {
    expect(bindInputs(graph, { x: { dtype: 'float32', shape: [2, 5, 4] }, mask: { dtype: 'bool', shape: [2, 5] } })).toEqual(new Map([['B', 2], ['T', 5]]));
  });
  it('reports wrong names, dtypes and sizes, and symbols that disagree', () => {
    expect(() => bindInputs(graph, { x: { dtype: 'float32', shape: [2, 5, 4] }, mask: { dtype: 'bool', shape: [3, 5] } }, 'in.safetensors')).toThrow(
      "inputs in.safetensors do not fit the model: input 'mask' has size 3 on axis 0 where B = 2: expected bool[B, T], got bool[3, 5]",
    );
    expect(() => bindInputs(graph, { x: { dtype: 'int32', shape: [2, 5, 4] }, masks: { dtype: 'bool', shape: [2, 5] } })).toThrow(
      /unexpected input 'masks' \(the model takes x, mask\); input 'x' has the wrong dtype: expected float32\[B, T, 4\], got int32\[2, 5, 4\]; missing input 'mask' bool\[B, T\]/,
    );
  });
});
