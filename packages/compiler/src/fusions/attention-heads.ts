/**
 * The head split and merge around an Attention node, folded into it: Q, K and V enter packed,
 * (B, n, H*E), and the output leaves packed, (B, L, H*Ev), as ONNX Runtime's MultiHeadAttention,
 * the ONNX Attention op and a fused kernel want them. Three layouts of the split are recognized:
 *   4-D, torch's MultiheadAttention and ViT:  x.reshape(B, n, H, E).transpose(1, 2)
 *   3-D, d2l's heads folded into the batch:   that, then .reshape(B*H, n, E)
 *   5-D, Swin's per-window view:              that 4-D split of (B*nW, n, C), then .reshape(B, nW, H, n, E)
 * with their inverse after the attention. In the 3-D layout a bias or mask over (B*H, ...) is
 * viewed as (B, H, ...), and the probabilities, if read, are viewed back. The window view becomes
 * packed heads over two batch dims, (B, nW, n, C), where its (nW, H, n, n) mask still broadcasts.
 */
import { type AttrsOf, type Dim, dimsEqual, divDims, mulDims, type Node, shapeToString, type TensorType, shapesEqual } from '@tessera/graph-dsl';
import { absent, alt, type Match, op, type Pattern, type RewriteBuilder, type Rule, v } from '../rewrite.ts';

const isSwap12 = (a: AttrsOf<'Transpose'>) => (a.perm.length === 4 && a.perm[0] === 0 && a.perm[1] === 2 && a.perm[2] === 1 && a.perm[3] === 3) || `perm [${a.perm.join(', ')}] is not the head transpose [0, 2, 1, 3]`;

/** (B, n, H*E) -> (B, H, n, E) */
const split4 = (x: string): Pattern => op('Transpose', op('Reshape', v(x)).as(`${x}Split`)).where(isSwap12);
/** ... -> (B*H, n, E), or (B, nW, H, n, E) for Swin's windows: told apart by the shapes */
const split3 = (x: string): Pattern => op('Reshape', split4(x)).as(`${x}Fold`);

const optionalInput = (name: string): Pattern => alt(v(name), absent());
const attention = (split: (x: string) => Pattern): Pattern =>
  op('Attention', split('q'), split('k'), split('v'), optionalInput('bias'), optionalInput('mask'))
    .where((a: AttrsOf<'Attention'>) => a.numHeads === 0 || 'the heads are packed already')
    .as('attention');

/** (B, H, L, Ev) -> (B, L, H*Ev), with (B*H, L, Ev) viewed as (B, H, L, Ev) first in the 3-D layout. */
const pattern = op('Reshape', op('Transpose', alt(attention(split4), op('Reshape', attention(split3)).as('unfold'))).where(isSwap12)).as('merge');

const shapeOf = (m: Match, node: Node, output = 0): readonly Dim[] => m.graph.types.get(node.outputs[output]!)!.shape;

/** The layout: heads split only, folded into the batch (d2l), or viewed per window (Swin). */
type Layout = 'split' | 'fold' | 'windows';
function layout(m: Match): Layout {
  if (!m.has('unfold')) return 'split';
  return shapeOf(m, m.node('qFold')).length === 5 ? 'windows' : 'fold';
}

/** The head count, or why the split and merge are not the standard ones. */
function heads(m: Match): number | string {
  const split = (x: string) => shapeOf(m, m.node(`${x}Split`)) as [Dim, Dim, Dim, Dim];
  const [b, l, h] = split('q');
  if (typeof h !== 'number') return `the head count ${String(h)} is symbolic`;
  for (const x of ['q', 'k', 'v']) {
    const t: TensorType = m.type(x);
    const s = split(x);
    if (t.shape.length !== 3) return `${x} ${shapeToString(t.shape)} is not (B, n, H*E)`;
    if (!shapesEqual(s, [t.shape[0]!, t.shape[1]!, h, divDims(t.shape[2]!, h)])) return `${x} ${shapeToString(t.shape)} is reshaped to ${shapeToString(s)}, not (B, n, ${h}, E)`;
    if (!dimsEqual(s[0], b)) return `${x} has batch ${String(s[0])}, q has ${String(b)}`;
    const fold = layout(m) === 'split' ? undefined : shapeOf(m, m.node(`${x}Fold`));
    if (layout(m) === 'fold' && !shapesEqual(fold!, [mulDims(b, h), s[1], s[3]])) return `${x} is folded to ${shapeToString(fold!)}, not (B*H, n, E)`;
    if (layout(m) === 'windows') {
      const view = windowsOf(m);
      if (!dimsEqual(mulDims(view[0], view[1]), b)) return `${x} is viewed as ${shapeToString(fold!)}, whose ${String(view[0])} x ${String(view[1])} windows are not the batch ${String(b)}`;
      if (!shapesEqual(fold!, [...view, h, s[1], s[3]])) return `${x} is viewed as ${shapeToString(fold!)}, not (B, nW, ${h}, n, E) with B*nW = ${String(b)}`;
    }
  }
  const out = shapeOf(m, m.node('attention'));
  const unfolded = layout(m) === 'split' ? undefined : shapeOf(m, m.node('unfold'));
  if (layout(m) === 'fold' && !shapesEqual(unfolded!, [b, h, out[1]!, out[2]!])) return `the output is unfolded to ${shapeToString(unfolded!)}, not (B, H, L, Ev)`;
  if (layout(m) === 'windows' && !shapesEqual(unfolded!, [b, h, out[3]!, out[4]!])) return `the windows are merged to ${shapeToString(unfolded!)}, not (B*nW, H, L, Ev)`;
  const merged = shapeOf(m, m.node('merge'));
  if (!shapesEqual(merged, [b, l, m.type('v').shape[2]!])) return `the heads are merged to ${shapeToString(merged)}, not (B, L, H*Ev)`;
  if (layout(m) === 'fold') {
    for (const name of ['bias', 'mask']) {
      const t = optionalType(m, name);
      if (t && t.shape.length === 3 && !(t.shape[0] === 1 || dimsEqual(t.shape[0]!, mulDims(b, h)))) return `the ${name} ${shapeToString(t.shape)} is neither per (batch, head) nor shared: its first dim is not ${String(mulDims(b, h))}`;
    }
  }
  return h;
}

/** The window view's two batch dims (B, nW), whose product must be the split's batch. */
function windowsOf(m: Match): [Dim, Dim] {
  const [b0, b1] = shapeOf(m, m.node('qFold')) as [Dim, Dim];
  return [b0, b1];
}

const optionalType = (m: Match, name: string): TensorType | undefined => (m.has(name) ? m.type(name) : undefined);

/** A (B*H, X, S) bias or mask as (B, H, X, S); a shared one (first dim 1, or rank < 3) broadcasts as it is. */
function unfoldOperand(m: Match, b: RewriteBuilder, name: string, batch: Dim, h: number): number | null {
  const t = optionalType(m, name);
  if (!t) return null;
  if (t.shape.length < 3 || t.shape[0] === 1) return b.value(name);
  return b.op('Reshape', [b.value(name)], { shape: [batch, h, ...t.shape.slice(1)] });
}

export const attentionHeadsRule: Rule = {
  name: 'attention-heads',
  pattern,
  exposes: [{ node: 'attention', output: 1 }],
  explainDepth: 3,
  check: (m) => {
    const h = heads(m);
    return typeof h === 'string' ? h : undefined;
  },
  rewrite: (m, b) => {
    const h = heads(m) as number;
    const batch = m.type('q').shape[0]!;
    const attrs = m.node('attention').attrs as AttrsOf<'Attention'>;
    const fold = layout(m) === 'fold';
    const operand = (name: string) => (fold ? unfoldOperand(m, b, name, batch, h) : optionalType(m, name) ? b.value(name) : null);
    // the windows: Q, K, V as (B, nW, n, C), so the scores are the (B, nW, H, L, S) the mask was added in
    const windows = layout(m) === 'windows' ? windowsOf(m) : undefined;
    const packed = (x: string) => (windows ? b.op('Reshape', [b.value(x)], { shape: [...windows, ...m.type(x).shape.slice(1)] }) : b.value(x));
    const [out, probs] = b.ops('Attention', [packed('q'), packed('k'), packed('v'), operand('bias'), operand('mask')], { ...attrs, numHeads: h });
    if (attrs.probs) {
      const old = shapeOf(m, m.node('attention'), 1);
      b.expose('attention', fold ? b.op('Reshape', [probs!], { shape: old }) : probs!, 1);
    }
    return windows ? b.op('Reshape', [out!], { shape: shapeOf(m, m.node('merge')) }) : out!;
  },
};
