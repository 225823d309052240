import { type AttrsOf, shapesEqual, shapeToString, type TensorType } from '@tessera/graph-dsl';
import type { Pass } from '../pass.ts';
import { cst, type Match, op, type Rule, rewritePass, v } from '../rewrite.ts';

/** Refuses when broadcasting against the constant makes the result larger than x: then x alone is not the answer. */
function keepsTypeOfX(m: Match): string | undefined {
  const x: TensorType = m.type('x');
  const out = m.graph.types.get(m.root.outputs[0]!)!;
  if (x.dtype !== out.dtype || !shapesEqual(x.shape, out.shape)) return `the result ${shapeToString(out.shape)} is broadcast larger than x ${shapeToString(x.shape)}`;
  return undefined;
}

const identity = (name: string, pattern: Rule['pattern']): Rule => ({ name, pattern, check: keepsTypeOfX, rewrite: (_, b) => b.value('x') });

/** x*1, 1*x, x+0, 0+x, x-0, x/1, -(-x), not(not x): each is x (when the result's type is x's). */
export const identityRules: readonly Rule[] = [
  identity('mul-one', op('Mul', v('x'), cst(1))),
  identity('add-zero', op('Add', v('x'), cst(0))),
  identity('sub-zero', op('Sub', v('x'), cst(0))),
  identity('div-one', op('Div', v('x'), cst(1))),
  identity('double-neg', op('Neg', op('Neg', v('x')))),
  identity('double-not', op('Not', op('Not', v('x')))),
];

/** Data movement that cancels or composes: transpose of a transpose, reshape of a reshape, no-op reshapes and transposes. */
export const movementRules: readonly Rule[] = [
  {
    name: 'transpose-transpose',
    pattern: op('Transpose', op('Transpose', v('x')).as('inner')).as('outer'),
    rewrite: (m, b) => {
      const inner = (m.node('inner').attrs as AttrsOf<'Transpose'>).perm;
      const outer = (m.node('outer').attrs as AttrsOf<'Transpose'>).perm;
      const perm = outer.map((p) => inner[p]!);
      return perm.every((p, i) => p === i) ? b.value('x') : b.op('Transpose', [b.value('x')], { perm });
    },
  },
  {
    name: 'reshape-reshape',
    pattern: op('Reshape', op('Reshape', v('x'))).as('outer'),
    rewrite: (m, b) => {
      const { shape } = m.node('outer').attrs as AttrsOf<'Reshape'>;
      return shapesEqual(m.type('x').shape, shape) ? b.value('x') : b.op('Reshape', [b.value('x')], { shape });
    },
  },
  {
    name: 'identity-reshape',
    pattern: op('Reshape', v('x')),
    check: keepsTypeOfX,
    rewrite: (_, b) => b.value('x'),
  },
  {
    name: 'identity-transpose',
    pattern: op('Transpose', v('x')).where((a) => a.perm.every((p, i) => p === i) || `perm [${a.perm.join(', ')}] moves axes`),
    rewrite: (_, b) => b.value('x'),
  },
];

/** Algebraic simplification: the identity and data-movement rules, in that order. */
export function algebraicSimplify(): Pass {
  return rewritePass('algebraic-simplify', [...identityRules, ...movementRules]);
}
