/**
 * Swin's patch merging gathers each 2x2 neighbourhood of a (B, H, W, C) map into the channels,
 *   cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
 * (four strided slices of strided slices and a Concat): that is one view of the map as
 * (B, H/2, 2, W/2, 2, C), one transpose that brings the two parities next to the channels (column
 * parity first, as torchvision orders them, or row parity first), and a reshape to (B, H/2, W/2, 4C).
 */
import { type AttrsOf, type Dim, type Node } from '@tessera/graph-dsl';
import { type Match, op, type Pattern, type Rule, v } from '../rewrite.ts';

const pick = (name: string): Pattern => op('Slice', op('Slice', v('x')).as(`${name}Rows`)).as(`${name}Cols`);
const PICKS = ['a', 'b', 'c', 'd'] as const;

/** The (row, column) parity a pick takes, or why it is not a stride-2 pick of the map's rows and columns. */
function parity(m: Match, name: string): [number, number] | string {
  const h = m.type('x').shape[1];
  const w = m.type('x').shape[2];
  const rows = m.node(`${name}Rows`).attrs as AttrsOf<'Slice'>;
  const cols = m.node(`${name}Cols`).attrs as AttrsOf<'Slice'>;
  const whole = (a: AttrsOf<'Slice'>, n: Dim | undefined) => a.end === undefined || (typeof n === 'number' && a.end >= n);
  if (rows.axis !== 1 || cols.axis !== 2) return `the slices are over axes ${rows.axis} and ${cols.axis}, not the map's rows (1) and columns (2)`;
  if (rows.step !== 2 || cols.step !== 2 || !whole(rows, h) || !whole(cols, w)) return 'the slices do not take every second row and column to the end';
  if (![0, 1].includes(rows.start) || ![0, 1].includes(cols.start)) return `the slices start at row ${rows.start} and column ${cols.start}, not 0 or 1`;
  return [rows.start, cols.start];
}

/** The transpose that orders the parities as the Concat does, or why the four picks are not one of the two orders. */
function mergePerm(m: Match): number[] | string {
  const x = m.type('x').shape;
  if (x.length !== 4 || typeof x[1] !== 'number' || typeof x[2] !== 'number' || x[1] % 2 !== 0 || x[2] % 2 !== 0) return `the map ${String(x)} is not (B, H, W, C) with H and W even`;
  const axis = (m.root.attrs as AttrsOf<'Concat'>).axis;
  if (axis !== 3 && axis !== -1) return `the picks are joined along axis ${axis}, not the channels`;
  const order: string[] = [];
  for (const name of PICKS) {
    const p = parity(m, name);
    if (typeof p === 'string') return p;
    order.push(p.join(''));
  }
  // (B, H/2, r, W/2, c, C): column parity outer (torchvision) or row parity outer
  if (order.join() === '00,10,01,11') return [0, 1, 3, 4, 2, 5];
  if (order.join() === '00,01,10,11') return [0, 1, 3, 2, 4, 5];
  return `the neighbourhood is joined in the order ${order.join(', ')} (row, column), not column-major or row-major`;
}

export const patchMergeRule: Rule = {
  name: 'patch-merge',
  pattern: op('Concat', ...PICKS.map(pick)),
  explainDepth: 2,
  check: (m) => {
    const perm = mergePerm(m);
    return typeof perm === 'string' ? perm : undefined;
  },
  rewrite: (m, b) => {
    const [batch, h, w, c] = m.type('x').shape as [Dim, number, number, Dim];
    const split = b.op('Reshape', [b.value('x')], { shape: [batch, h / 2, 2, w / 2, 2, c] });
    const moved = b.op('Transpose', [split], { perm: mergePerm(m) as number[] });
    return b.op('Reshape', [moved], { shape: (m.graph.types.get((m.root as Node).outputs[0]!)!).shape });
  },
};
