/** Permutations the ops and passes build: Transpose's `perm` for a swap of two axes. */

/** The permutation of `rank` axes that swaps `a` and `b` (negative counts from the end, as PyTorch's `transpose(a, b)`). */
export function swapAxes(rank: number, a: number, b: number): number[] {
  const [i, j] = [a < 0 ? a + rank : a, b < 0 ? b + rank : b];
  return Array.from({ length: rank }, (_, k) => (k === i ? j : k === j ? i : k));
}
