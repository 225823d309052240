/** The exact GELU as written out, x * 0.5 * (1 + erf(x / sqrt 2)) in any of its usual arrangements, becomes one Gelu node. */
import type { HostTensor } from '@tessera/graph-dsl';
import { alt, cst, op, type Rule, v } from '../rewrite.ts';

const near = (value: number) => cst((t: HostTensor) => t.data.length === 1 && Math.abs((t.data[0] as number) - value) <= 1e-6 * Math.abs(value));
/** erf(x / sqrt 2), with the division written as either op. */
const erfTerm = op('Erf', alt(op('Mul', v('x'), near(Math.SQRT1_2)), op('Div', v('x'), near(Math.SQRT2))));
const onePlusErf = op('Add', erfTerm, near(1));

export const geluRule: Rule = {
  name: 'gelu',
  // (x * (1 + erf)) * 0.5, as F.gelu writes it, or (x * 0.5) * (1 + erf), as torch's docs do
  pattern: op('Mul', alt(op('Mul', v('x'), onePlusErf), op('Mul', v('x'), near(0.5))), alt(near(0.5), onePlusErf)),
  check: (m) => {
    // exactly one factor 0.5 and one (1 + erf): the alternatives above allow both or neither
    const erfs = m.nodes.filter((n) => n.op === 'Erf').length;
    return erfs === 1 ? undefined : 'not of the form 0.5 x (1 + erf(x / sqrt 2))';
  },
  // every product of something and a reshape is not worth a note: only near-misses past the first factor
  explainDepth: 2,
  rewrite: (_, b) => b.op('Gelu', [b.value('x')], {}),
};
