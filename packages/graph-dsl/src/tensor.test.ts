import { describe, expect, it } from 'vitest';
import { F, type Graph, Module, OpError, type Tensor, trace, typeOf, typeToString } from './index.ts';

/** Traces `body` on one input and returns the output types, or throws what the DSL threw. */
function shapesOf(shape: readonly (number | string)[], body: (x: Tensor<'float32', number>) => Tensor | readonly Tensor[], dtype: 'float32' | 'int32' = 'float32'): string[] {
  class M extends Module {
    forward(x: Tensor<'float32', number>) {
      return body(x);
    }
  }
  const g: Graph = trace(new M(), { x: { dtype, shape } });
  return g.outputs.map((o) => typeToString(typeOf(g, o.value)));
}

/** The OpError a traced body throws. */
function errorOf(shape: readonly (number | string)[], body: (x: Tensor<'float32', number>) => unknown): OpError {
  try {
    shapesOf(shape, (x) => body(x) as Tensor);
  } catch (e) {
    if (e instanceof OpError) return e;
    throw e;
  }
  throw new Error('no error');
}

describe("PyTorch's splitting and view methods", () => {
  it('chunk, split and unbind give torch.chunk / split / unbind pieces', () => {
    expect(shapesOf([2, 7, 3], (x) => x.chunk(3, 1))).toEqual(['f32[2, 3, 3]', 'f32[2, 3, 3]', 'f32[2, 1, 3]']);
    // torch.arange(6).chunk(4) has 3 pieces of 2
    expect(shapesOf([6], (x) => x.chunk(4))).toEqual(['f32[2]', 'f32[2]', 'f32[2]']);
    expect(shapesOf(['B', 5], (x) => x.split(2, -1))).toEqual(['f32[B, 2]', 'f32[B, 2]', 'f32[B, 1]']);
    expect(shapesOf(['B', 6], (x) => x.split([1, 0, 5], 1))).toEqual(['f32[B, 1]', 'f32[B, 0]', 'f32[B, 5]']);
    expect(shapesOf([3, 'T', 4], (x) => x.unbind())).toEqual(['f32[T, 4]', 'f32[T, 4]', 'f32[T, 4]']);
  });

  it('select, narrow and view work on symbolic dims too', () => {
    expect(shapesOf(['B', 'T', 4], (x) => x.select(1, -1))).toEqual(['f32[B, 4]']);
    expect(shapesOf(['B', 'T', 4], (x) => x.select(-1, 2))).toEqual(['f32[B, T]']);
    expect(shapesOf(['B', 'T', 4], (x) => x.narrow(1, 1, 2))).toEqual(['f32[B, 2, 4]']);
    expect(shapesOf(['B', 'T', 4], (x) => x.narrow(1, -3, 3))).toEqual(['f32[B, 3, 4]']);
    expect(shapesOf([2, 6, 4], (x) => x.narrow(1, -4, 2))).toEqual(['f32[2, 2, 4]']);
    expect(shapesOf(['B', 6, 4], (x) => x.view('B', 3, -1))).toEqual(['f32[B, 3, 8]']);
    expect(shapesOf(['B', 6, 4], (x) => x.view(['B', 24]))).toEqual(['f32[B, 24]']);
    expect(shapesOf(['B', 'T', 4], (x) => x.maskedFill(x.gt(0), -1))).toEqual(['f32[B, T, 4]']);
    expect(shapesOf([2, 3], (x) => x.maskedFill(x.gt(0).select(0, 0), 7), 'int32')).toEqual(['i32[2, 3]']);
  });

  it('refuses bad arguments as an OpError naming the method, the operand, what was expected and the line', () => {
    const cases: [string, (x: Tensor<'float32', number>) => unknown, RegExp][] = [
      ['chunk', (x) => x.chunk(0, 1), /^chunk: chunks must be a whole number above 0, got 0; operands self: f32\[B, 6\], at .*tensor\.test\.ts:\d+:\d+/],
      ['chunk', (x) => x.chunk(2, 0), /^chunk: dim 0 has the symbolic size B; the number of pieces needs a concrete size; operands self: f32\[B, 6\]/],
      ['split', (x) => x.split([2, 3], 1), /^split: split sizes \[2, 3\] must be whole numbers >= 0 that sum to 6, the size of dim 1/],
      ['split', (x) => x.split(0, 1), /^split: split size must be a whole number above 0, got 0/],
      ['split', (x) => x.split(2, 2), /^split: dim 2 is out of range for rank 2 \(expected -2 to 1\)/],
      ['unbind', (x) => x.unbind(), /^unbind: dim 0 has the symbolic size B/],
      ['select', (x) => x.select(1, 6), /^select: index 6 is out of range for dim 1 of size 6; operands self: f32\[B, 6\]/],
      ['select', (x) => x.select(1, -7), /^select: index -7 is out of range for dim 1 of size 6/],
      ['narrow', (x) => x.narrow(1, 4, 3), /^narrow: start 4 \+ length 3 is outside dim 1 of size 6/],
      ['narrow', (x) => x.narrow(1, 0, -1), /^narrow: start 0 and length -1 must be whole numbers, length >= 0/],
      ['maskedFill', (x) => x.maskedFill(x.gt(0).unsqueeze(0), 0), /^maskedFill: mask \[1, B, 6\] must broadcast to the shape of self \[B, 6\]; operands self: f32\[B, 6\], mask: bool\[1, B, 6\]/],
      ['maskedFill', (x) => x.maskedFill(x.slice(1, 0, 4).gt(0), 0), /^maskedFill: shapes \[B, 6\] and \[B, 4\] do not broadcast/],
      ['maskedFill', (x) => x.maskedFill(x as never, 0), /^maskedFill: mask must be bool, got float32/],
      ['maskedFill', (x) => x.maskedFill(x.gt(0), x), /^maskedFill: a tensor value must have 0 dims, got \[B, 6\]/],
      ['view', (x) => x.view(5, 7), /^Reshape: cannot reshape \[B, 6\] \(6\*B elements\) to \[5, 7\]/],
      // a dim out of range is the method's refusal at the user's line, for every method that takes one
      ['softmax', (x) => x.softmax(2), /^softmax: dim 2 is out of range for rank 2 \(expected -2 to 1\); operands self: f32\[B, 6\], at .*tensor\.test\.ts/],
      ['transpose', (x) => x.transpose(0, -3), /^transpose: dim -3 is out of range for rank 2/],
      ['sum', (x) => x.sum([0, 5]), /^sum: dim 5 is out of range for rank 2/],
      ['cat', (x) => F.cat([x, x], 2), /^cat: dim 2 is out of range for rank 2/],
    ];
    for (const [method, body, message] of cases) {
      const e = errorOf(['B', 6], body);
      expect(e.op, String(message)).toBe(method === 'view' ? 'Reshape' : method);
      expect(e.message).toMatch(message);
      expect(e.source?.file).toMatch(/tensor\.test\.ts$/);
    }
  });
});

describe('F.pad and F.interpolate', () => {
  it("F.pad takes PyTorch's last-dim-first pairs; negative counts crop", () => {
    expect(shapesOf(['B', 3, 4], (x) => F.pad(x, [1, 2]))).toEqual(['f32[B, 3, 7]']);
    expect(shapesOf(['B', 3, 4], (x) => F.pad(x, [0, 0, 2, 0, 1, 1]))).toEqual(['f32[B + 2, 5, 4]']);
    expect(shapesOf([2, 3, 4], (x) => F.pad(x, [-1, 2, -1, -1]))).toEqual(['f32[2, 1, 5]']);
    expect(shapesOf(['B', 'T'], (x) => F.pad(x, [0, -1]))).toEqual(['f32[B, T - 1]']);
  });

  it('F.interpolate takes size or scaleFactor (floor of size x factor)', () => {
    expect(shapesOf(['B', 3, 5, 7], (x) => F.interpolate(x as Tensor<'float32', 4>, { size: [8, 11], mode: 'bilinear' }))).toEqual(['f32[B, 3, 8, 11]']);
    expect(shapesOf([1, 3, 5, 7], (x) => F.interpolate(x as Tensor<'float32', 4>, { scaleFactor: 1.5, mode: 'bicubic', alignCorners: true }))).toEqual(['f32[1, 3, 7, 10]']);
    expect(shapesOf([1, 3, 14, 14], (x) => F.interpolate(x as Tensor<'float32', 4>, { size: 24, mode: 'bicubic', alignCorners: true }))).toEqual(['f32[1, 3, 24, 24]']);
  });

  it('refuses what PyTorch refuses, as an OpError at the line', () => {
    const four = (x: Tensor<'float32', number>) => x as Tensor<'float32', 4>;
    const cases: [readonly (number | string)[], (x: Tensor<'float32', number>) => unknown, RegExp][] = [
      [[2, 3], (x) => F.pad(x, [1]), /^pad: the pad list \[1\] must hold a \(before, after\) pair for each of up to 2 dims; operands input: f32\[2, 3\], at .*tensor\.test\.ts/],
      [[2, 3], (x) => F.pad(x, [1, 1, 1, 1, 1, 1]), /^pad: the pad list \[1, 1, 1, 1, 1, 1\] must hold/],
      [[2, 3], (x) => F.pad(x, [-2, -2]), /^pad: dim 1 of size 3 cropped by -2 and -2 would have a negative size/],
      [[2, 3], (x) => F.pad(x, [1, 1], 'reflect' as 'constant'), /^pad: mode 'reflect' is not supported \(only 'constant'\)/],
      [[2, 3], (x) => F.pad(x.to('int32'), [1, 1], 'constant', 0.5), /^Pad: an int32 tensor cannot be padded with 0.5; operands x: i32\[2, 3\]/],
      [[2, 3, 4], (x) => F.interpolate(four(x), { size: 2, mode: 'bilinear' }), /^interpolate: bilinear mode needs a 4-D input \(N, C, H, W\), got rank 3; operands input: f32\[2, 3, 4\]/],
      [[1, 1, 4, 4], (x) => F.interpolate(four(x), { mode: 'bilinear' }), /^interpolate: give exactly one of size and scaleFactor/],
      [[1, 1, 4, 4], (x) => F.interpolate(four(x), { size: 2, scaleFactor: 2, mode: 'bilinear' }), /^interpolate: give exactly one of size and scaleFactor/],
      [[1, 1, 4, 4], (x) => F.interpolate(four(x), { size: 2, mode: 'nearest' as 'bilinear' }), /^interpolate: mode 'nearest' is not supported \(bilinear or bicubic\)/],
      [[1, 1, 'H', 4], (x) => F.interpolate(four(x), { scaleFactor: 2, mode: 'bilinear' }), /^interpolate: scaleFactor needs a concrete input size, got H x 4/],
      [[1, 1, 'H', 4], (x) => F.interpolate(four(x), { size: 2, mode: 'bilinear' }), /^Interpolate: the input size H x 4 must be concrete; operands x: f32\[1, 1, H, 4\]/],
      [[1, 1, 4, 4], (x) => F.interpolate(four(x), { scaleFactor: 0.2, mode: 'bicubic' }), /^Interpolate: the output size \[0, 0\] must be whole numbers above 0/],
    ];
    for (const [shape, body, message] of cases) {
      const e = errorOf(shape, body);
      expect(e.message).toMatch(message);
      expect(e.source?.file).toMatch(/tensor\.test\.ts$/);
    }
  });
});
