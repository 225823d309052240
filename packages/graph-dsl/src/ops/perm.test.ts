import { describe, expect, it } from 'vitest';
import { swapAxes } from './perm.ts';

describe('swapAxes', () => {
  it('swaps two axes, counting negative ones from the end as PyTorch does', () => {
    expect(swapAxes(4, -2, -1)).toEqual([0, 1, 3, 2]);
    expect(swapAxes(4, -3, -2)).toEqual([0, 2, 1, 3]);
    expect(swapAxes(3, 0, 2)).toEqual([2, 1, 0]);
    expect(swapAxes(2, 1, 1)).toEqual([0, 1]);
  });
});
