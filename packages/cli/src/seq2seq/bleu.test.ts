import { describe, expect, it } from 'vitest';
import { bleu } from './bleu.ts';

describe("d2l's BLEU", () => {
  it('is 1 for an exact match and 0 when no bigram matches', () => {
    expect(bleu(['a', 'b', 'c'], ['a', 'b', 'c'])).toBe(1);
    expect(bleu(['a', 'c', 'b'], ['b', 'a', 'd'])).toBe(0);
    expect(bleu([], ['a'])).toBe(0);
  });
  it("matches d2l's formula: brevity penalty and clipped n-gram precisions to the power 1/2^n", () => {
    // pred 'a b x' vs label 'a b c d': penalty exp(1 - 4/3); p1 = 2/3, p2 = 1/2
    expect(bleu(['a', 'b', 'x'], ['a', 'b', 'c', 'd'])).toBeCloseTo(Math.exp(1 - 4 / 3) * (2 / 3) ** 0.5 * (1 / 2) ** 0.25, 12);
    // repeated words are clipped by their count in the label
    expect(bleu(['a', 'a', 'a'], ['a', 'b', 'c'], 1)).toBeCloseTo((1 / 3) ** 0.5, 12);
  });
  it('skips n-gram orders longer than the prediction (d2l would divide by zero)', () => {
    expect(bleu(['cent'], ['cent'])).toBe(1);
  });
});
