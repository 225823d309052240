import { describe, expect, it } from 'vitest';
import { floatToHalf, halfToFloat } from './half.ts';

describe('float16', () => {
  it('reads back every half exactly: all 63,488 finite values, both infinities and NaN', () => {
    for (let h = 0; h < 0x10000; h++) {
      const back = floatToHalf(halfToFloat(h));
      const nan = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (nan) expect(back & 0x7e00, `0x${h.toString(16)}`).toBe(0x7e00);
      else if (back !== h) expect.fail(`0x${h.toString(16)} came back as 0x${back.toString(16)}`);
    }
  });

  // each value's half as torch 1.13's .half() gives it (bits): scripts/weights_dtype_torch.py half
  const rounded: [string, number, number][] = [
    ['ties to even down at 1', 1 + 2 ** -11, 0x3c00],
    ['ties to even up', 1 + 3 * 2 ** -11, 0x3c02],
    ['the largest half', 65504, 0x7bff],
    ['just under the tie with infinity', 65519.99, 0x7bff],
    ['the tie past 65504, to infinity', 65520, 0x7c00],
    ['the negative tie, to -infinity', -65520, 0xfc00],
    ['the smallest subnormal', 2 ** -24, 0x0001],
    ['half the smallest subnormal, to zero (even)', 2 ** -25, 0x0000],
    ['a subnormal tie, up to even', 3 * 2 ** -25, 0x0002],
    ['just over half the smallest subnormal', 2 ** -25 * 1.0001, 0x0001],
    ['the smallest normal', 2 ** -14, 0x0400],
    ['the tie between the largest subnormal and the smallest normal', 2 ** -14 - 2 ** -25, 0x0400],
    ['a third', 1 / 3, 0x3555],
    ['a tenth', 0.1, 0x2e66],
    ['negative zero', -0, 0x8000],
    ['infinity', Infinity, 0x7c00],
    ['far under the subnormals', 1e-8, 0x0000],
  ];
  for (const [what, value, bits] of rounded) {
    it(`rounds ${what} (${value}) to 0x${bits.toString(16)} as torch does`, () => {
      expect(floatToHalf(value)).toBe(bits);
    });
  }

  it('keeps NaN a NaN', () => {
    expect(Number.isNaN(halfToFloat(floatToHalf(NaN)))).toBe(true);
  });
});
