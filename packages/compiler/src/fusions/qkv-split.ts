/**
 * One projection giving Q, K and V packed, split as timm and torchvision's Swin write it:
 *   qkv.reshape(B, N, 3, H, E).permute(2, 0, 3, 1, 4)[i]            (B, H, N, E)
 * becomes a slice of the packed tensor's last axis, then the standard head split:
 *   qkv[..., i*H*E:(i+1)*H*E].reshape(B, N, H, E).transpose(1, 2)
 * The same values, but the rank-5 permute (57 ms for Swin-T's first stage on tfjs-wasm, where a
 * rank-4 head transpose takes 0.7) is gone, and `attention-heads` sees the split it knows.
 */
import { type AttrsOf, type Dim, dimsEqual, mulDims, type Node, shapeToString } from '@tessera/graph-dsl';
import { type Match, op, type Rule, v } from '../rewrite.ts';

const PERM = [2, 0, 3, 1, 4];

/** The packed tensor (B, N, 3*H*E) and H, E behind a picked Q, K or V, or why it is not that split. */
function unpacked(m: Match): { packed: number; heads: Dim; width: Dim; index: number } | string {
  const permute = m.producer(m.value('permuted'));
  if (permute?.op !== 'Transpose' || !(permute.attrs as AttrsOf<'Transpose'>).perm.every((p, i) => p === PERM[i])) return 'the picked tensor is not permuted (2, 0, 3, 1, 4)';
  const reshape = m.producer(permute.inputs[0]!) as Node | undefined;
  if (reshape?.op !== 'Reshape') return 'the permuted tensor is not a reshape of the projection';
  const packed = reshape.inputs[0]!;
  const [b, n, three, h, e] = m.graph.types.get(reshape.outputs[0]!)!.shape as Dim[];
  const source = m.graph.types.get(packed)!.shape;
  if (three !== 3 || source.length !== 3 || !dimsEqual(source[0]!, b!) || !dimsEqual(source[1]!, n!)) return `the projection ${shapeToString(source)} is not viewed as (B, N, 3, H, E)`;
  const pick = m.node('pick').attrs as AttrsOf<'Slice'>;
  if (pick.axis !== 0 || pick.step !== 1 || pick.end !== pick.start + 1 || pick.start < 0 || pick.start > 2) return `the slice [${pick.start}:${pick.end}:${pick.step}] on axis ${pick.axis} does not pick one of Q, K, V`;
  const squeezed = m.graph.types.get(m.root.outputs[0]!)!.shape;
  if (!(squeezed.length === 4 && dimsEqual(squeezed[0]!, b!) && dimsEqual(squeezed[1]!, h!) && dimsEqual(squeezed[2]!, n!) && dimsEqual(squeezed[3]!, e!))) return `the pick is reshaped to ${shapeToString(squeezed)}, not (B, H, N, E)`;
  return { packed, heads: h!, width: mulDims(h!, e!), index: pick.start };
}

export const qkvSplitRule: Rule = {
  name: 'qkv-split',
  pattern: op('Reshape', op('Slice', v('permuted')).as('pick')),
  explainDepth: 2,
  check: (m) => {
    const u = unpacked(m);
    return typeof u === 'string' ? u : typeof u.width === 'number' && typeof u.heads === 'number' ? undefined : `the width ${String(u.width)} is symbolic`;
  },
  rewrite: (m, b) => {
    const { packed, heads, width, index } = unpacked(m) as { packed: number; heads: number; width: number; index: number };
    const [batch, n] = m.graph.types.get(packed)!.shape as [Dim, Dim];
    const slice = b.op('Slice', [b.old(packed)], { axis: 2, start: index * width, end: (index + 1) * width, step: 1 });
    const split = b.op('Reshape', [slice], { shape: [batch, n, heads, width / heads] });
    return b.op('Transpose', [split], { perm: [0, 2, 1, 3] });
  },
};
