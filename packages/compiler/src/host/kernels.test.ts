import { describe, expect, it } from 'vitest';
import { type HostTensor, hostTensor } from '@tessera/graph-dsl';
import { erf, evaluateHost } from './index.ts';

const f32 = (shape: number[], data: number[]) => hostTensor('float32', shape, data);
const i32 = (shape: number[], data: number[]) => hostTensor('int32', shape, data);
const values = (t: HostTensor) => Array.from(t.data as ArrayLike<number>);

describe('host kernels', () => {
  it('erf is precise to ~1e-7 relative against known values', () => {
    const known: [number, number][] = [
      [0.5, 0.5204998778130465], [-1.2, -0.9103139782296353], [0.01, 0.011283415555849618],
      [1, 0.8427007929497149], [2, 0.9953222650189527], [3, 0.9999779095030014], [-0.1, -0.1124629160182849], [0, 0],
    ];
    for (const [x, y] of known) expect(Math.abs(erf(x) - y)).toBeLessThanOrEqual(1e-12 * Math.max(1, Math.abs(y)));
    expect(erf(7)).toBe(1);
    const out = evaluateHost('Erf', [f32([2], [0.5, -1.2])], {})[0]!;
    expect(values(out)[0]).toBeCloseTo(0.5204998778, 7);
    expect(values(out)[1]).toBeCloseTo(-0.9103139782, 7);
  });

  it('softmax matches known values and is stable for large inputs', () => {
    const out = evaluateHost('Softmax', [f32([2, 3], [1, 2, 3, 1000, 1000, 1000])], { axis: -1 })[0]!;
    const [a, b, c] = [0.09003057317038046, 0.24472847105479764, 0.6652409557748219];
    values(out).slice(0, 3).forEach((v, i) => expect(v).toBeCloseTo([a, b, c][i]!, 7));
    values(out).slice(3).forEach((v) => expect(v).toBeCloseTo(1 / 3, 7));
    const col = evaluateHost('Softmax', [f32([2, 2], [0, 0, 1, 1])], { axis: 0 })[0]!;
    expect(values(col)[0]).toBeCloseTo(0.2689414213699951, 7);
  });

  it('broadcasts binary ops, comparisons and where', () => {
    const sum = evaluateHost('Add', [f32([2, 1], [10, 20]), f32([3], [1, 2, 3])], {})[0]!;
    expect(sum.shape).toEqual([2, 3]);
    expect(values(sum)).toEqual([11, 12, 13, 21, 22, 23]);
    const lt = evaluateHost('Less', [i32([3], [0, 1, 2]), i32([3, 1], [0, 1, 2])], {})[0]!;
    expect(lt.dtype).toBe('bool');
    expect(values(lt)).toEqual([0, 0, 0, 1, 0, 0, 1, 1, 0]);
    const w = evaluateHost('Where', [lt, f32([], [0]), f32([], [-Infinity])], {})[0]!;
    expect(values(w)).toEqual([-Infinity, -Infinity, -Infinity, 0, -Infinity, -Infinity, 0, 0, -Infinity]);
    expect(values(evaluateHost('Div', [i32([2], [7, -7]), i32([], [2])], {})[0]!)).toEqual([3, -3]);
    expect(values(evaluateHost('Cast', [f32([3], [1.7, -1.7, 0])], { to: 'int32' })[0]!)).toEqual([1, -1, 0]);
    expect(values(evaluateHost('Cast', [f32([3], [1.7, -1.7, 0])], { to: 'bool' })[0]!)).toEqual([1, 1, 0]);
  });

  it('moves data: transpose, slice, gather, roll, concat, expand, reshape, range', () => {
    const x = f32([2, 3], [0, 1, 2, 3, 4, 5]);
    expect(values(evaluateHost('Transpose', [x], { perm: [1, 0] })[0]!)).toEqual([0, 3, 1, 4, 2, 5]);
    expect(values(evaluateHost('Slice', [x], { axis: 1, start: 1, step: 1 })[0]!)).toEqual([1, 2, 4, 5]);
    expect(values(evaluateHost('Slice', [x], { axis: 1, start: -1, step: -2 })[0]!)).toEqual([2, 0, 5, 3]);
    const g = evaluateHost('Gather', [x, i32([2, 2], [2, 0, -1, 1])], { axis: 1 })[0]!;
    expect(g.shape).toEqual([2, 2, 2]);
    expect(values(g)).toEqual([2, 0, 2, 1, 5, 3, 5, 4]);
    expect(values(evaluateHost('Roll', [x], { shifts: [1, -1], axes: [0, 1] })[0]!)).toEqual([4, 5, 3, 1, 2, 0]);
    const c = evaluateHost('Concat', [x, f32([2, 1], [9, 9])], { axis: 1 })[0]!;
    expect(values(c)).toEqual([0, 1, 2, 9, 3, 4, 5, 9]);
    expect(values(evaluateHost('Expand', [f32([2, 1], [1, 2])], { shape: [2, 2, 2] })[0]!)).toEqual([1, 1, 2, 2, 1, 1, 2, 2]);
    expect(evaluateHost('Reshape', [x], { shape: [3, 2] })[0]!.shape).toEqual([3, 2]);
    expect(values(evaluateHost('Range', [], { start: 1, end: 7, step: 2, dtype: 'int32' })[0]!)).toEqual([1, 3, 5]);
  });

  it('multiplies batched matrices and reduces', () => {
    const a = f32([2, 1, 2], [1, 2, 3, 4]);
    const b = f32([2, 1], [10, 1]);
    expect(values(evaluateHost('MatMul', [a, b], {})[0]!)).toEqual([12, 34]);
    const x = f32([2, 3], [0, 1, 2, 3, 4, 5]);
    expect(values(evaluateHost('ReduceSum', [x], { axes: [1], keepdims: false })[0]!)).toEqual([3, 12]);
    expect(evaluateHost('ReduceMean', [x], { axes: [0], keepdims: true })[0]!.shape).toEqual([1, 3]);
    expect(values(evaluateHost('ReduceMean', [x], { axes: [0], keepdims: true })[0]!)).toEqual([1.5, 2.5, 3.5]);
    expect(values(evaluateHost('ReduceMax', [x], { axes: [0, 1], keepdims: false })[0]!)).toEqual([5]);
  });

  it('normalizes and convolves', () => {
    const ln = evaluateHost('LayerNorm', [f32([1, 2], [1, 3]), f32([2], [2, 1]), f32([2], [0, 1])], { axis: -1, eps: 0 })[0]!;
    expect(values(ln)).toEqual([-2, 2]);
    // 1x1x3x3 input, 1x1x2x2 ones kernel, padding 0, stride 1: sums of 2x2 windows
    const y = evaluateHost('Conv2d', [f32([1, 1, 3, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9]), f32([1, 1, 2, 2], [1, 1, 1, 1]), f32([1], [0.5])], {
      strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], groups: 1,
    })[0]!;
    expect(values(y)).toEqual([12.5, 16.5, 24.5, 28.5]);
  });
});
