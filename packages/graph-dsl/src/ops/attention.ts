/** Attention as one op: what the compiler's attention fusion produces, and what `F.scaledDotProductAttention` records. */
import { divDims, type Dim, dimsEqual, dimToString, shapeToString } from '../dim.ts';
import { broadcastShapes, defineOp, expectRank, ShapeError, type TensorType } from './op.ts';
import { swapAxes } from './perm.ts';

export interface AttentionAttrs {
  /**
   * 0: query, key and value arrive split into heads, (..., L, E), (..., S, E), (..., S, Ev), with
   * the same leading dims. H > 0: they arrive packed, (..., L, H*E), (..., S, H*E), (..., S, H*Ev)
   * with one or more batch dims (Swin's (B, windows, N, C), so its per-window mask broadcasts), and
   * are split into H heads inside (the head split and merge of multi-head attention, fused).
   */
  readonly numHeads: number;
  /** Multiplies Q K^T (1/sqrt(E) in the paper). */
  readonly scale: number;
  /** Query i attends to keys j <= i only (PyTorch's is_causal: the mask is aligned top-left). */
  readonly causal: boolean;
  /**
   * What a score whose `mask` entry is false becomes before the softmax: -Infinity (PyTorch) or a
   * large negative number (d2l writes -1e6, which gives a fully masked row uniform weights).
   */
  readonly maskFill: number;
  /** A second output: the attention probabilities, (..., L, S), or (..., H, L, S) when packed. */
  readonly probs: boolean;
}

function expectBroadcastsTo(t: TensorType | undefined, name: string, target: readonly Dim[]): void {
  if (!t) return;
  if (t.shape.length > target.length) throw new ShapeError(`${name} ${shapeToString(t.shape)} has more dims than the scores ${shapeToString(target)}`);
  let out: Dim[];
  try {
    out = broadcastShapes([t.shape, target]);
  } catch {
    throw new ShapeError(`${name} ${shapeToString(t.shape)} does not broadcast to the scores ${shapeToString(target)}`);
  }
  if (!out.every((d, i) => dimsEqual(d, target[i]!))) throw new ShapeError(`${name} ${shapeToString(t.shape)} would stretch the scores ${shapeToString(target)}`);
}

/** The permutation of rank `rank` that swaps the head and position axes, (..., n, H, E) <-> (..., H, n, E): the packed form's head split and merge. */
export const headSwap = (rank: number): number[] => swapAxes(rank, -3, -2);

/** The scores' shape (where bias and mask broadcast) and the output's, from the operands. */
export function attentionShapes(q: TensorType, k: TensorType, v: TensorType, numHeads: number): { scores: Dim[]; output: Dim[] } {
  if (numHeads > 0) {
    const rank = q.shape.length;
    if (rank < 3) throw new ShapeError(`query must be (..., L, H*E) with a batch, got ${shapeToString(q.shape)}`);
    expectRank(k, `key (..., S, H*E) of rank ${rank}`, [rank]);
    expectRank(v, `value (..., S, H*Ev) of rank ${rank}`, [rank]);
    const batch = q.shape.slice(0, -2);
    const [l, qe] = q.shape.slice(-2) as [Dim, Dim];
    const [s, ke] = k.shape.slice(-2) as [Dim, Dim];
    const [sv, ve] = v.shape.slice(-2) as [Dim, Dim];
    for (const [name, t] of [['key', k], ['value', v]] as const) {
      if (!t.shape.slice(0, -2).every((d, i) => dimsEqual(d, batch[i]!))) throw new ShapeError(`query, key and value must have one batch, got ${shapeToString(q.shape)} and ${name} ${shapeToString(t.shape)}`);
    }
    if (!dimsEqual(s, sv)) throw new ShapeError(`key has ${dimToString(s)} positions, value ${dimToString(sv)}`);
    if (!dimsEqual(qe, ke)) throw new ShapeError(`query width ${dimToString(qe)} must equal key width ${dimToString(ke)}`);
    for (const [name, width] of [['query', qe], ['value', ve]] as const) {
      const per = divDims(width, numHeads);
      if (typeof per === 'number' && !Number.isInteger(per)) throw new ShapeError(`${name} width ${dimToString(width)} does not split into ${numHeads} heads`);
    }
    return { scores: [...batch, numHeads, l, s], output: [...batch, l, ve] };
  }
  const rank = q.shape.length;
  if (rank < 2) throw new ShapeError(`query must have rank 2 or more (..., L, E), got ${shapeToString(q.shape)}`);
  if (k.shape.length !== rank || v.shape.length !== rank) throw new ShapeError(`query ${shapeToString(q.shape)}, key ${shapeToString(k.shape)} and value ${shapeToString(v.shape)} must have one rank`);
  const batch = q.shape.slice(0, -2);
  for (const [name, t] of [['key', k], ['value', v]] as const) {
    if (!t.shape.slice(0, -2).every((d, i) => dimsEqual(d, batch[i]!))) throw new ShapeError(`${name} ${shapeToString(t.shape)} must have the leading dims of query ${shapeToString(q.shape)}`);
  }
  const [l, e] = q.shape.slice(-2) as [Dim, Dim];
  const [s, ke] = k.shape.slice(-2) as [Dim, Dim];
  const [sv, ve] = v.shape.slice(-2) as [Dim, Dim];
  if (!dimsEqual(e, ke)) throw new ShapeError(`query width ${dimToString(e)} must equal key width ${dimToString(ke)}`);
  if (!dimsEqual(s, sv)) throw new ShapeError(`key has ${dimToString(s)} positions, value ${dimToString(sv)}`);
  return { scores: [...batch, l, s], output: [...batch, l, ve] };
}

/**
 * Scaled dot-product attention, one op: softmax(where(mask, scale * Q K^T + bias, maskFill)) V,
 * with the causal mask when asked. PyTorch's `F.scaled_dot_product_attention` with a float mask
 * (the bias) and a boolean one (true: take part) at once.
 */
export const Attention = defineOp<AttentionAttrs>({
  name: 'Attention',
  inputs: [
    { name: 'query', dtypes: ['float32'] },
    { name: 'key', dtypes: ['float32'] },
    { name: 'value', dtypes: ['float32'] },
    { name: 'bias', dtypes: ['float32'], optional: true },
    { name: 'mask', dtypes: ['bool'], optional: true },
  ],
  infer: ([q, k, v, bias, mask], { numHeads, probs }) => {
    if (!Number.isInteger(numHeads) || numHeads < 0) throw new ShapeError(`numHeads must be a whole number >= 0, got ${numHeads}`);
    const { scores, output } = attentionShapes(q!, k!, v!, numHeads);
    expectBroadcastsTo(bias, 'bias', scores);
    expectBroadcastsTo(mask, 'mask', scores);
    const out: TensorType[] = [{ dtype: 'float32', shape: output }];
    if (probs) out.push({ dtype: 'float32', shape: scores });
    return out;
  },
});
