/**
 * Swin's window reverse and reverse shift, as torchvision writes them,
 *   x.view(B, H/M0, W/M1, M0, M1, C).permute(0, 1, 3, 2, 4, 5).reshape(B, H, W, C).roll(s, (1, 2))
 * become one WindowReverse node (the roll optional: unshifted blocks).
 */
import { type Match, op, type OpPattern, type Rule, v } from '../rewrite.ts';
import { isWindowPerm, shiftOf, windowOf } from './window-partition.ts';

const merge = op('Reshape', op('Transpose', op('Reshape', v('windows')).as('split')).where(isWindowPerm)).as('map');

function reverse(m: Match): { window: readonly [number, number]; shift: readonly [number, number]; size: readonly [number, number] } | string {
  const map = m.type('map').shape;
  const window = windowOf(map, m.type('split').shape, m.type('windows').shape, true);
  if (typeof window === 'string') return window;
  const shift = shiftOf(m, 1);
  if (typeof shift === 'string') return shift;
  return { window, shift, size: [map[1] as number, map[2] as number] };
}

const rule = (name: string, pattern: OpPattern): Rule => ({
  name,
  pattern,
  explainDepth: 2,
  check: (m) => {
    const r = reverse(m);
    return typeof r === 'string' ? r : undefined;
  },
  rewrite: (m, b) => b.op('WindowReverse', [b.value('windows')], reverse(m) as Exclude<ReturnType<typeof reverse>, string>),
});

/** The shifted form first, so that its roll is taken in. */
export const windowReverseRules: readonly Rule[] = [rule('window-reverse', op('Roll', merge).as('roll')), rule('window-reverse', merge)];
