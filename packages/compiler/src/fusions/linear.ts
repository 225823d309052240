/** nn.Linear as traced (x @ W^T, plus a bias on the last axis) becomes one Linear node: tf.fused.matMul's and ONNX Gemm's shape. */
import { type AttrsOf, dimsEqual, shapeToString } from '@tessera/graph-dsl';
import { type Match, op, type Rule, v } from '../rewrite.ts';

// W^T stays for its other readers: a transposed weight shared by several products (CSE merges
// them; a tied embedding) is still each one's weight
const weightT = op('Transpose', v('w')).where((a: AttrsOf<'Transpose'>) => (a.perm.length === 2 && a.perm[0] === 1) || 'not the transpose of a 2-D weight').as('wT');
const product = op('MatMul', v('x'), weightT);

function weightIs2d(m: Match): string | undefined {
  return m.type('w').shape.length === 2 ? undefined : `the weight ${shapeToString(m.type('w').shape)} is not 2-D`;
}

/** x @ W^T + b, b of shape (out,), the sum no larger than the product. */
export const linearRule: Rule = {
  name: 'linear',
  pattern: op('Add', product.as('product'), v('b')),
  keeps: ['wT'],
  check: (m) => {
    const b = m.type('b').shape;
    const out = m.type('w').shape[0]!;
    if (b.length !== 1 || !dimsEqual(b[0]!, out)) return `the addend ${shapeToString(b)} is not a bias of the ${String(out)} outputs`;
    return weightIs2d(m);
  },
  // an add of anything but a bias to some other product (scores plus a mask) is not worth a note
  explainDepth: 3,
  rewrite: (_, b) => b.op('Linear', [b.value('x'), b.value('w'), b.value('b')], {}),
};

/** x @ W^T alone (bias=False). */
export const linearNoBiasRule: Rule = {
  name: 'linear-no-bias',
  pattern: product,
  keeps: ['wT'],
  check: weightIs2d,
  // a product with any other transposed operand (Q K^T) is not worth a note
  explainDepth: 2,
  rewrite: (_, b) => b.op('Linear', [b.value('x'), b.value('w'), null], {}),
};
