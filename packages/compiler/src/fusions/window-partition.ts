/**
 * Swin's cyclic shift and window partition, as torchvision writes them,
 *   x.roll(-s, (1, 2)).view(B, H/M0, M0, W/M1, M1, C).permute(0, 1, 3, 2, 4, 5).reshape(-1, M0*M1, C)
 * become one WindowPartition node (the roll optional: unshifted blocks).
 */
import { type AttrsOf, type Dim, dimsEqual, mulDims, shapesEqual } from '@tessera/graph-dsl';
import { alt, type Match, op, type Rule, v } from '../rewrite.ts';

/** Swaps the window-row and in-window-row axes of (B, nH, M0, nW, M1, C). */
export const isWindowPerm = (a: AttrsOf<'Transpose'>) => a.perm.join() === '0,1,3,2,4,5' || `perm [${a.perm.join(', ')}] is not the window transpose [0, 1, 3, 2, 4, 5]`;

/** The roll's shift on (H, W), [0, 0] without a roll, or why the roll is not over the map's two axes. */
export function shiftOf(m: Match, sign: 1 | -1): readonly [number, number] | string {
  if (!m.has('roll')) return [0, 0];
  const roll = m.node('roll').attrs as AttrsOf<'Roll'>;
  if (roll.axes.join() !== '1,2') return `the roll is over axes [${roll.axes.join(', ')}], not the map's (1, 2)`;
  return [sign * roll.shifts[0]!, sign * roll.shifts[1]!];
}


/** The window (M0, M1), or why the reshapes around the transpose are not a window partition of `map`. */
export function windowOf(map: readonly Dim[], split: readonly Dim[], tokens: readonly Dim[], tokensFirst: boolean): readonly [number, number] | string {
  const [b, h, w, c] = map as [Dim, Dim, Dim, Dim];
  const [, nh, a, b2, m1] = split as [Dim, Dim, Dim, Dim, Dim, Dim];
  const [m0, nw] = tokensFirst ? [b2, a] : [a, b2];
  if (typeof m0 !== 'number' || typeof m1 !== 'number' || typeof nh !== 'number' || typeof nw !== 'number') return 'the window size is symbolic';
  // the split side: (B, nH, M0, nW, M1, C) before the transpose, (B, nH, nW, M0, M1, C) after
  const want = tokensFirst ? [b, nh, nw, m0, m1, c] : [b, nh, m0, nw, m1, c];
  if (map.length !== 4 || !shapesEqual(split, want) || !dimsEqual(h, nh * m0) || !dimsEqual(w, nw * m1)) return 'the map is not viewed as (B, H/M0, M0, W/M1, M1, C)';
  if (!shapesEqual(tokens, [mulDims(b, nh * nw), m0 * m1, c])) return 'the windows are not flattened to (B*nW, M0*M1, C)';
  return [m0, m1];
}

export const windowPartitionRule: Rule = {
  name: 'window-partition',
  pattern: op('Reshape', op('Transpose', op('Reshape', alt(op('Roll', v('x')).as('roll'), v('x'))).as('split')).where(isWindowPerm)),
  explainDepth: 2,
  check: (m) => {
    const shift = shiftOf(m, -1);
    if (typeof shift === 'string') return shift;
    const window = windowOf(m.type('x').shape, m.type('split').shape, m.graph.types.get(m.root.outputs[0]!)!.shape, false);
    return typeof window === 'string' ? window : undefined;
  },
  rewrite: (m, b) => {
    const window = windowOf(m.type('x').shape, m.type('split').shape, m.graph.types.get(m.root.outputs[0]!)!.shape, false) as readonly [number, number];
    return b.op('WindowPartition', [b.value('x')], { window, shift: shiftOf(m, -1) as readonly [number, number] });
  },
};
