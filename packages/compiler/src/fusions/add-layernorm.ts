/**
 * A residual add feeding a LayerNorm, LayerNorm(x + residual), becomes one AddLayerNorm node
 * whose second output is the sum, for the residual stream that goes on (post-norm AddNorm,
 * and pre-norm blocks where the next block's norm reads the sum).
 */
import { dimsEqual, shapeToString, type TensorType } from '@tessera/graph-dsl';
import { absent, alt, op, type Rule, v } from '../rewrite.ts';

const same = (a: TensorType, b: TensorType) => a.shape.length === b.shape.length && a.shape.every((d, i) => dimsEqual(d, b.shape[i]!));

export const addLayerNormRule: Rule = {
  name: 'add-layernorm',
  pattern: op('LayerNorm', op('Add', v('x'), v('residual')).as('sum'), alt(v('weight'), absent()), alt(v('bias'), absent())).as('norm'),
  exposes: [{ node: 'sum', output: 0 }],
  explainDepth: 1,
  check: (m) => {
    const sum = m.type('sum');
    for (const name of ['x', 'residual']) if (!same(m.type(name), sum)) return `${name} ${shapeToString(m.type(name).shape)} is broadcast to the sum ${shapeToString(sum.shape)}`;
    return undefined;
  },
  rewrite: (m, b) => {
    const attrs = m.node('norm').attrs as { axis: number; eps: number };
    const input = (name: string) => (m.has(name) ? b.value(name) : null);
    const [normed, sum] = b.ops('AddLayerNorm', [b.value('x'), b.value('residual'), input('weight'), input('bias')], { axis: attrs.axis, eps: attrs.eps });
    if (m.uses(m.value('sum')) > 1) b.expose('sum', sum!);
    return normed!;
  },
};
