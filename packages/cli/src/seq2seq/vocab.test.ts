import { describe, expect, it } from 'vitest';
import { truncatePad, Vocab } from './vocab.ts';

describe('vocabularies', () => {
  const v = Vocab.build([['b', 'a', 'b'], ['c', 'b']]);
  it('puts <pad> <bos> <eos> <unk> first, then tokens by frequency, ties alphabetical', () => {
    expect(v.tokens).toEqual(['<pad>', '<bos>', '<eos>', '<unk>', 'b', 'a', 'c']);
  });
  it('reads unknown words as <unk> and decodes up to <eos>', () => {
    expect(v.encode(['a', 'zebra'])).toEqual([5, 3]);
    expect(v.unknown(['a', 'zebra'])).toEqual(['zebra']);
    expect(v.decode([1, 4, 5, 2, 6])).toEqual(['b', 'a']);
  });
  it('pads or truncates to the step count', () => {
    expect(truncatePad([7, 8], 4, 0)).toEqual([7, 8, 0, 0]);
    expect(truncatePad([1, 2, 3, 4, 5], 3, 0)).toEqual([1, 2, 3]);
  });
});
