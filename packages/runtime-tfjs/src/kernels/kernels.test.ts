import * as tf from '@tensorflow/tfjs-core';
import { type AttrsOf, type Bindings, type OpName, parseDim } from '@tessera/graph-dsl';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend.ts';
import { KERNELS, matMul } from './index.ts';
import type { KernelContext } from './types.ts';

beforeAll(async () => {
  await initBackend();
});

const EVAL: KernelContext = { bindings: new Map(), training: false };

/** Runs one kernel and reads its first output to the host. */
function run<N extends OpName>(op: N, inputs: readonly (tf.Tensor | undefined)[], attrs: AttrsOf<N>, ctx: KernelContext = EVAL): { shape: number[]; dtype: string; data: number[] } {
  const kernel = KERNELS[op] as (i: readonly tf.Tensor[], a: AttrsOf<N>, c: KernelContext) => tf.Tensor[];
  const out = tf.tidy(() => kernel(inputs as tf.Tensor[], attrs, ctx)[0]!);
  const result = { shape: out.shape, dtype: out.dtype, data: Array.from(out.dataSync() as ArrayLike<number>) };
  out.dispose();
  tf.dispose(inputs.filter((t): t is tf.Tensor => t !== undefined));
  return result;
}

function expectClose(actual: readonly number[], expected: readonly number[], tol = 1e-5): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    if (Math.abs(a - expected[i]!) > tol) throw new Error(`element ${i}: ${a} vs ${expected[i]} (tolerance ${tol})\nactual   ${actual.join(', ')}\nexpected ${expected.join(', ')}`);
  });
}

const iota = (n: number, scale = 1, offset = 0) => Array.from({ length: n }, (_, i) => offset + i * scale);
const f32 = (data: number[], shape: number[]) => tf.tensor(data, shape, 'float32');
const i32 = (data: number[], shape: number[]) => tf.tensor(data, shape, 'int32');

describe('elementwise kernels', () => {
  it('erf matches known values', () => {
    const r = run('Erf', [f32([0, 0.5, 1, -1, 2], [5])], {});
    expectClose(r.data, [0, 0.5204999, 0.8427008, -0.8427008, 0.9953223], 2e-6);
  });

  it('int32 division truncates toward zero (as ONNX), float division is exact', () => {
    expect(run('Div', [i32([7, -7, 6, -1], [4]), i32([2, 2, -4, 3], [4])], {})).toEqual({ shape: [4], dtype: 'int32', data: [3, -3, -1, 0] });
    expectClose(run('Div', [f32([1, -3], [2]), f32([4, 2], [2])], {}).data, [0.25, -1.5]);
  });

  it('where broadcasts condition, a and b', () => {
    const cond = tf.tensor([1, 0], [2, 1], 'bool');
    const r = run('Where', [cond, f32([1, 2, 3], [1, 3]), f32([-1], [])], {});
    expect(r.shape).toEqual([2, 3]);
    expect(r.data).toEqual([1, 2, 3, -1, -1, -1]);
  });

  it('casts: float to int32 truncates, to bool is x != 0; comparisons give bool', () => {
    expect(run('Cast', [f32([1.7, -1.7, 0], [3])], { to: 'int32' }).data).toEqual([1, -1, 0]);
    expect(run('Cast', [f32([0.5, 0, -2], [3])], { to: 'bool' })).toEqual({ shape: [3], dtype: 'bool', data: [1, 0, 1] });
    expect(run('Equal', [tf.tensor([1, 0, 1], [3], 'bool'), tf.tensor([1, 1, 0], [3], 'bool')], {})).toEqual({ shape: [3], dtype: 'bool', data: [1, 0, 0] });
    expect(run('Less', [i32([1, 5], [2]), i32([3], [1])], {}).data).toEqual([1, 0]);
    expect(run('And', [tf.tensor([1, 1, 0], [3], 'bool'), tf.tensor([1, 0, 0], [3], 'bool')], {}).data).toEqual([1, 0, 0]);
  });
});

describe('reductions and normalization', () => {
  it('softmax on the last axis and on another axis', () => {
    expectClose(run('Softmax', [f32([1, 2, 3], [1, 3])], { axis: -1 }).data, [0.09003057, 0.24472847, 0.66524096]);
    // Columns [1, 2] and [1, 3].
    expectClose(run('Softmax', [f32([1, 1, 2, 3], [2, 2])], { axis: 0 }).data, [0.26894142, 0.11920292, 0.73105858, 0.88079708]);
  });

  it('layer norm equals the direct formula', () => {
    const x = [0.5, -1, 2, 3, 0, 1, 1, 1, -2, 4, 0.25, -0.75];
    const w = [1, 0.5, 2, -1, 1, 3];
    const b = [0, 1, -1, 0.5, 0, 0.25];
    const eps = 1e-5;
    // Normalized over the last two axes of [2, 2, 3].
    const expected: number[] = [];
    for (let row = 0; row < 2; row++) {
      const v = x.slice(row * 6, row * 6 + 6);
      const mean = v.reduce((a, c) => a + c, 0) / 6;
      const variance = v.reduce((a, c) => a + (c - mean) ** 2, 0) / 6;
      v.forEach((c, i) => expected.push(((c - mean) / Math.sqrt(variance + eps)) * w[i]! + b[i]!));
    }
    const r = run('LayerNorm', [f32(x, [2, 2, 3]), f32(w, [2, 3]), f32(b, [2, 3])], { axis: -2, eps });
    expectClose(r.data, expected, 1e-4);
    const plain = run('LayerNorm', [f32([1, 2, 3, 4], [1, 4]), undefined, undefined], { axis: -1, eps: 0 });
    const s = Math.sqrt(1.25);
    expectClose(plain.data, [-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s], 1e-5);
  });

  it('reduces over axes, keeps dims, and keeps int32', () => {
    expect(run('ReduceSum', [f32(iota(6), [2, 3])], { axes: [1], keepdims: true })).toEqual({ shape: [2, 1], dtype: 'float32', data: [3, 12] });
    expect(run('ReduceMean', [i32([1, 2, 4, 4], [2, 2])], { axes: [0, 1], keepdims: false })).toEqual({ shape: [], dtype: 'int32', data: [2] });
    expect(run('ReduceMax', [f32([1, 5, 3, 2], [2, 2])], { axes: [0], keepdims: false }).data).toEqual([3, 5]);
    expect(run('ReduceSum', [f32([1, 2], [2])], { axes: [], keepdims: false }).data).toEqual([1, 2]);
  });
});

/** a @ b for row-major arrays with NumPy broadcasting of the batch dims. */
function naiveMatMul(a: number[], as: number[], b: number[], bs: number[]): { data: number[]; shape: number[] } {
  const [m, k] = as.slice(-2) as [number, number];
  const n = bs[bs.length - 1]!;
  const ba = as.slice(0, -2);
  const bb = bs.slice(0, -2);
  const rank = Math.max(ba.length, bb.length);
  const pa = [...Array(rank - ba.length).fill(1), ...ba];
  const pb = [...Array(rank - bb.length).fill(1), ...bb];
  const batch = pa.map((d, i) => Math.max(d, pb[i]!));
  const total = batch.reduce((x, y) => x * y, 1);
  const data: number[] = [];
  for (let flat = 0; flat < total; flat++) {
    let rest = flat;
    const idx = batch.map(() => 0);
    for (let i = rank - 1; i >= 0; i--) {
      idx[i] = rest % batch[i]!;
      rest = Math.floor(rest / batch[i]!);
    }
    const offset = (dims: number[]) => idx.reduce((acc, v, i) => acc * dims[i]! + (dims[i] === 1 ? 0 : v), 0);
    const oa = offset(pa) * m * k;
    const ob = offset(pb) * k * n;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += a[oa + i * k + q]! * b[ob + q * n + j]!;
      data.push(s);
    }
  }
  return { data, shape: [...batch, m, n] };
}

describe('matmul', () => {
  const cases: [number[], number[]][] = [
    [[2, 3], [3, 4]],
    [[2, 4, 3], [3, 2]],
    [[2, 1, 2, 3], [3, 3, 2]],
    [[1, 3], [2, 3, 2]],
    [[3, 1, 2, 3], [1, 2, 3, 2]],
  ];
  for (const [as, bs] of cases) {
    it(`broadcasts [${as}] @ [${bs}]`, () => {
      const a = iota(as.reduce((x, y) => x * y, 1), 0.5, -1);
      const b = iota(bs.reduce((x, y) => x * y, 1), -0.25, 2);
      const expected = naiveMatMul(a, as, b, bs);
      const r = run('MatMul', [f32(a, as), f32(b, bs)], {});
      expect(r.shape).toEqual(expected.shape);
      expectClose(r.data, expected.data, 1e-4);
    });
  }
});

const transposeLast = (data: number[], shape: number[]) => {
  const [r, c] = shape.slice(-2) as [number, number];
  const out: number[] = [];
  for (let b = 0; b < data.length / (r * c); b++) for (let j = 0; j < c; j++) for (let i = 0; i < r; i++) out.push(data[b * r * c + i * c + j]!);
  return { data: out, shape: [...shape.slice(0, -2), c, r] };
};

describe('fused matmul (transposes and bias)', () => {
  const cases: [number[], number[]][] = [[[2, 3], [3, 4]], [[2, 2, 3], [3, 4]], [[2, 1, 2, 3], [3, 3, 4]]];
  for (const backend of ['wasm', 'cpu'] as const) {
    for (const [as, bs] of cases) {
      for (const [ta, tb] of [[false, false], [false, true], [true, false], [true, true]] as const) {
        it(`${backend}: [${as}]${ta ? '^T' : ''} @ [${bs}]${tb ? '^T' : ''} + bias`, async () => {
          await initBackend(backend);
          try {
            const a = iota(as.reduce((x, y) => x * y, 1), 0.5, -1);
            const b = iota(bs.reduce((x, y) => x * y, 1), -0.25, 2);
            const bias = iota(bs[bs.length - 1]!, 1, 10);
            const expected = naiveMatMul(a, as, b, bs);
            const withBias = expected.data.map((v, i) => v + bias[i % bias.length]!);
            const ga = ta ? transposeLast(a, as) : { data: a, shape: as };
            const gb = tb ? transposeLast(b, bs) : { data: b, shape: bs };
            const out = tf.tidy(() => matMul(f32(ga.data, ga.shape), f32(gb.data, gb.shape), ta, tb, f32(bias, [bias.length])));
            expect(out.shape).toEqual(expected.shape);
            expectClose(Array.from(out.dataSync()), withBias, 1e-4);
            out.dispose();
          } finally {
            await initBackend('wasm');
          }
        });
      }
    }
  }
});

/** Grouped, strided, dilated, padded NCHW convolution, written out. */
function naiveConv(x: number[], xs: number[], w: number[], ws: number[], bias: number[] | undefined, attrs: AttrsOf<'Conv2d'>): { data: number[]; shape: number[] } {
  const [n, c, h, wd] = xs as [number, number, number, number];
  const [o, ci, kh, kw] = ws as [number, number, number, number];
  const { strides: [sh, sw], pads: [pt, pl, pb, pr], dilations: [dh, dw], groups } = attrs;
  const oh = Math.floor((h + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((wd + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  const perGroup = o / groups;
  const data: number[] = [];
  for (let b = 0; b < n; b++) for (let oc = 0; oc < o; oc++) for (let y = 0; y < oh; y++) for (let xx = 0; xx < ow; xx++) {
    const g = Math.floor(oc / perGroup);
    let s = bias ? bias[oc]! : 0;
    for (let ic = 0; ic < ci; ic++) for (let ky = 0; ky < kh; ky++) for (let kx = 0; kx < kw; kx++) {
      const iy = y * sh - pt + ky * dh;
      const ix = xx * sw - pl + kx * dw;
      if (iy < 0 || iy >= h || ix < 0 || ix >= wd) continue;
      const channel = g * ci + ic;
      s += x[((b * c + channel) * h + iy) * wd + ix]! * w[((oc * ci + ic) * kh + ky) * kw + kx]!;
    }
    data.push(s);
  }
  return { data, shape: [n, o, oh, ow] };
}

describe('conv2d', () => {
  const cases: { name: string; xs: number[]; ws: number[]; bias: boolean; attrs: AttrsOf<'Conv2d'> }[] = [
    { name: 'padding 1, stride 2, bias', xs: [2, 2, 5, 5], ws: [3, 2, 3, 3], bias: true, attrs: { strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1], groups: 1 } },
    { name: 'uneven pads and strides', xs: [1, 3, 6, 7], ws: [2, 3, 2, 3], bias: false, attrs: { strides: [1, 2], pads: [0, 2, 1, 0], dilations: [1, 1], groups: 1 } },
    { name: 'stride and dilation together', xs: [1, 2, 9, 9], ws: [2, 2, 3, 3], bias: true, attrs: { strides: [2, 2], pads: [1, 1, 1, 1], dilations: [2, 2], groups: 1 } },
    { name: 'two groups', xs: [1, 4, 5, 5], ws: [6, 2, 3, 3], bias: true, attrs: { strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], groups: 2 } },
    { name: 'depthwise with multiplier 2', xs: [2, 3, 6, 6], ws: [6, 1, 3, 3], bias: true, attrs: { strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1], groups: 3 } },
  ];
  for (const { name, xs, ws, bias, attrs } of cases) {
    it(`matches a naive loop: ${name}`, () => {
      const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
      const x = iota(size(xs)).map((i) => Math.sin(i * 0.37));
      const w = iota(size(ws)).map((i) => Math.cos(i * 0.21));
      const b = bias ? iota(ws[0]!, 0.1, -0.2) : undefined;
      const expected = naiveConv(x, xs, w, ws, b, attrs);
      const r = run('Conv2d', [f32(x, xs), f32(w, ws), b ? f32(b, [ws[0]!]) : undefined], attrs);
      expect(r.shape).toEqual(expected.shape);
      expectClose(r.data, expected.data, 1e-4);
    });
  }
});

describe('data movement', () => {
  it('rolls like torch.roll on one and two axes', () => {
    expect(run('Roll', [f32(iota(5), [5])], { shifts: [2], axes: [0] }).data).toEqual([3, 4, 0, 1, 2]);
    expect(run('Roll', [f32(iota(5), [5])], { shifts: [-1], axes: [0] }).data).toEqual([1, 2, 3, 4, 0]);
    expect(run('Roll', [f32(iota(5), [5])], { shifts: [10], axes: [0] }).data).toEqual([0, 1, 2, 3, 4]);
    // [[0 1 2] [3 4 5] [6 7 8]] rolled by 1 down and -1 right.
    expect(run('Roll', [f32(iota(9), [3, 3])], { shifts: [1, -1], axes: [0, 1] }).data).toEqual([7, 8, 6, 1, 2, 0, 4, 5, 3]);
  });

  it('gathers with multi-dim and negative indices', () => {
    const r = run('Gather', [f32(iota(6), [3, 2]), i32([2, 0, 1, -1], [2, 2])], { axis: 0 });
    expect(r.shape).toEqual([2, 2, 2]);
    expect(r.data).toEqual([4, 5, 0, 1, 2, 3, 4, 5]);
    expect(run('Gather', [f32(iota(6), [2, 3]), i32([2, 0], [2])], { axis: 1 }).data).toEqual([2, 0, 5, 3]);
  });

  it('slices with negative and stepped indices as Python does', () => {
    const x = () => i32(iota(10), [10]);
    const py = (start: number, end: number | undefined, step: number) => run('Slice', [x()], { axis: 0, start, ...(end === undefined ? {} : { end }), step }).data;
    expect(py(-3, undefined, 1)).toEqual([7, 8, 9]); // x[-3:]
    expect(py(1, -1, 3)).toEqual([1, 4, 7]); // x[1:-1:3]
    expect(py(-1, undefined, -1)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]); // x[::-1]
    expect(py(8, 2, -2)).toEqual([8, 6, 4]); // x[8:2:-2]
    expect(py(-1, -4, -1)).toEqual([9, 8, 7]); // x[-1:-4:-1]
    expect(py(5, 2, 1)).toEqual([]); // x[5:2]
    const m = run('Slice', [f32(iota(12), [3, 4])], { axis: 1, start: -1, step: -2 });
    expect(m).toEqual({ shape: [3, 2], dtype: 'float32', data: [3, 1, 7, 5, 11, 9] }); // m[:, ::-2]
  });

  it('expands size-1 dims and adds leading dims, with a symbolic dim bound at run time', () => {
    const ctx: KernelContext = { bindings: new Map([['B', 2]]), training: false };
    const r = run('Expand', [f32([1, 2, 3], [3, 1])], { shape: [parseDim('B'), 3, 4] }, ctx);
    expect(r.shape).toEqual([2, 3, 4]);
    expect(r.data).toEqual([...[1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3], ...[1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]]);
  });

  it('reshapes and ranges to symbolic bounds', () => {
    const bindings: Bindings = new Map([['T', 4]]);
    const ctx: KernelContext = { bindings, training: false };
    expect(run('Range', [], { start: 1, end: parseDim('T+1'), step: 1, dtype: 'int32' }, ctx)).toEqual({ shape: [4], dtype: 'int32', data: [1, 2, 3, 4] });
    expect(run('Range', [], { start: 0, end: 2, step: 0.5, dtype: 'float32' }).data).toEqual([0, 0.5, 1, 1.5]);
    expect(run('Reshape', [f32(iota(8), [8])], { shape: [parseDim('T/2'), parseDim('T')] }, ctx).shape).toEqual([2, 4]);
  });

  it('concatenates, including bool', () => {
    expect(run('Concat', [f32([1, 2], [1, 2]), f32([3, 4, 5, 6], [2, 2])], { axis: 0 }).shape).toEqual([3, 2]);
    expect(run('Concat', [tf.tensor([1], [1], 'bool'), tf.tensor([0, 1], [2], 'bool')], { axis: 0 })).toEqual({ shape: [3], dtype: 'bool', data: [1, 0, 1] });
  });
});

describe('padding', () => {
  it('pads each axis by its (before, after) counts with the value, int32 too; its gradient is the gradient cropped', () => {
    const r = run('Pad', [f32(iota(6, 1, 1), [2, 3])], { pads: [[1, 0], [0, 2]], value: -1 });
    expect(r).toEqual({ shape: [3, 5], dtype: 'float32', data: [-1, -1, -1, -1, -1, 1, 2, 3, -1, -1, 4, 5, 6, -1, -1] });
    expect(run('Pad', [i32([4], [1])], { pads: [[2, 1]], value: 7 })).toEqual({ shape: [4], dtype: 'int32', data: [7, 7, 4, 7] });
    const grad = tf.tidy(() => {
      const dy = f32(iota(15), [3, 5]);
      return tf.grad((x: tf.Tensor) => tf.sum(tf.mul(KERNELS.Pad([x], { pads: [[1, 0], [0, 2]], value: 0 }, EVAL)[0]!, dy)))(f32(iota(6), [2, 3]));
    });
    expect(Array.from(grad.dataSync())).toEqual([5, 6, 7, 10, 11, 12]);
    grad.dispose();
  });
});

describe('dropout', () => {
  it('is the identity in eval mode and inverted dropout in training mode', () => {
    const ones = () => tf.ones([1000]);
    expect(run('Dropout', [ones()], { p: 0.5 }).data.every((v) => v === 1)).toBe(true);
    let seed = 1;
    const train: KernelContext = { bindings: new Map(), training: true, nextSeed: () => seed++ };
    const r = run('Dropout', [ones()], { p: 0.25 }, train);
    const kept = r.data.filter((v) => v !== 0);
    expect(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6)).toBe(true);
    expect(kept.length).toBeGreaterThan(650);
    expect(kept.length).toBeLessThan(850);
  });
});
