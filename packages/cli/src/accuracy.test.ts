/** The accuracy measures of every smaller-model report, on numbers worked by hand. */
import { describe, expect, it } from 'vitest';
import { hostTensor } from '@tessera/graph-dsl';
import { compareOutputs, formatAccuracy, movedNote } from './accuracy.ts';

describe('compareOutputs', () => {
  it('gives max abs, max abs / max |reference| and top-1 agreement by row', () => {
    const ref = { logits: hostTensor('float32', [3, 2], [1, 2, 3, -4, 0.5, 0.25]), mask: hostTensor('bool', [2], [1, 0]) };
    const got = { logits: hostTensor('float32', [3, 2], [1, 2.1, 3, -3.5, 0.5, 0.75]), mask: hostTensor('bool', [2], [0, 0]) };
    const [a, ...rest] = compareOutputs(ref, got);
    expect(rest).toEqual([]); // only float outputs
    expect(a!.maxAbs).toBeCloseTo(0.5, 6);
    expect(a!.relative).toBeCloseTo(0.5 / 4, 6);
    expect(a!.top1).toEqual({ agree: 2, rows: 3 }); // row 2's arg max moves from 0 to 1
    expect(formatAccuracy(a!)).toBe('logits [3, 2]: max abs 5.00e-1, relative 12.50 %, top-1 agreement 2/3');
  });

  it('says so when the reference is all zeros (relative error undefined), and has no top-1 for other ranks', () => {
    const ref = { y: hostTensor('float32', [1, 2, 2], [0, 0, 0, 0]) };
    const [a] = compareOutputs(ref, { y: hostTensor('float32', [1, 2, 2], [0, 0.5, 0, 0]) });
    expect(a!.top1).toBeUndefined();
    expect(formatAccuracy(a!)).toBe('y [1, 2, 2]: max abs 5.00e-1, relative n/a (the fp32 output is all zeros: initial weights? give --weights)');
    expect(() => compareOutputs(ref, {})).toThrow(/output y is missing/);
  });

  it('notes exactly the outputs past 2 % or with a changed top-1 answer, with the advice given', () => {
    const at = (name: string, relative: number, agree?: number) => ({ name, shape: [4, 10], maxAbs: relative, relative, ...(agree === undefined ? {} : { top1: { agree, rows: 4 } }) });
    expect(movedNote([at('logits', 0.02, 4), at('y', 0.001)], 'try float16')).toBeUndefined();
    expect(movedNote([at('logits', 0.01, 3), at('y', 0.03), at('z', 0.001)], 'try float16')).toBe('note: logits, y moved by more than 2 % or changed a top-1 answer; try float16');
  });
});
