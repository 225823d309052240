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
    expect(() => checkWeights(graph, weights, { source: 'w.safetensors' })).toThrow(
      "the weights in w.safetensors do not fit the model's 2 parameters: 1 missing (proj.bias [3]); 1 unexpected (proj.extra [2]); 1 with the wrong shape or dtype (proj.weight: expected [3, 4], got [4, 3]).",
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
      "inputs in.safetensors: input 'mask' must be bool [B, T], which is [2, 5] with B=2 from input 'x' dim 0, T=5 from input 'x' dim 1, but a bool [3, 5] tensor was given: dimension 0 is 3, expected 2.",
    );
    expect(() => bindInputs(graph, { x: { dtype: 'int32', shape: [2, 5, 4] }, mask: { dtype: 'bool', shape: [2, 5] } })).toThrow(
      "input 'x' must be float32 [B, T, 4], but a int32 [2, 5, 4] tensor was given: wrong dtype.",
    );
    expect(() => bindInputs(graph, { x: { dtype: 'float32', shape: [2, 5, 4] }, masks: { dtype: 'bool', shape: [2, 5] } })).toThrow(
      "unknown input 'masks' (bool [2, 5]): the graph's inputs are x: float32 [B, T, 4], mask: bool [B, T].",
    );
  });
  it('solves linear dims such as T+1 and H/2 from the shapes given', () => {
    class Shifted extends Module {
      forward(a: Tensor<'float32', 1>, b: Tensor<'float32', 1>) {
        return a.slice(0, 1).add(b);
      }
    }
    const g = trace(new Shifted(), { a: { dtype: 'float32', shape: ['T+1'] }, b: { dtype: 'float32', shape: ['T'] } });
    expect(bindInputs(g, { a: { dtype: 'float32', shape: [6] }, b: { dtype: 'float32', shape: [5] } })).toEqual(new Map([['T', 5]]));
  });
});
