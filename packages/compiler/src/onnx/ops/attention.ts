/** The fused ops: Attention, Linear and Gelu, as ONNX nodes. */
import { broadcastShapes, type Dim, hostTensor, isSymbolic, type NodeOf } from '@tessera/graph-dsl';
import type { LoweringContext } from '../context.ts';
import type { OnnxOpTable } from './types.ts';

const f32 = (v: number) => hostTensor('float32', [], [v]);

/** (B, n, H*E) -> (B, H, n, E), or (B, H, E, n) for a key read transposed. */
function splitHeads(cx: LoweringContext, x: string, heads: number, transposed: boolean): string {
  const split = cx.emit('Reshape', [x, cx.int64([0, 0, heads, -1])]);
  return cx.emit('Transpose', [split], { perm: transposed ? [0, 2, 3, 1] : [0, 2, 1, 3] });
}

/** A (L, S) boolean tensor, true where key j <= query i, with L and S read at run time when symbolic. */
function causalKeep(cx: LoweringContext, l: Dim, s: Dim): string {
  if (!isSymbolic(l) && !isSymbolic(s)) {
    const keep = hostTensor('bool', [l, s]);
    for (let i = 0; i < l; i++) for (let j = 0; j <= Math.min(i, s - 1); j++) keep.data[i * s + j] = 1;
    return cx.constant(keep);
  }
  const range = (d: Dim) => cx.emit('Range', [cx.int64([0], []), cx.emit('Squeeze', [cx.dim(d)]), cx.int64([1], [])]);
  const rows = cx.emit('Unsqueeze', [range(l), cx.int64([1])]);
  return cx.emit('GreaterOrEqual', [rows, range(s)]);
}

/**
 * Attention in standard opset-17 ops: the heads split (packed layout), Q K^T, scale, bias,
 * mask, causal mask, Softmax, times V, the heads merged.
 */
export function attentionPortable(node: NodeOf<'Attention'>, cx: LoweringContext): void {
  const { numHeads, scale, causal, maskFill, probs } = node.attrs;
  const packed = numHeads > 0;
  const [q, k, v] = [0, 1, 2].map((i) => cx.input(node, i)) as [string, string, string];
  const rank = cx.inputType(node, 0).shape.length;
  const swapLast = Array.from({ length: rank }, (_, i) => (i === rank - 2 ? rank - 1 : i === rank - 1 ? rank - 2 : i));
  const query = packed ? splitHeads(cx, q, numHeads, false) : q;
  const keyT = packed ? splitHeads(cx, k, numHeads, true) : cx.emit('Transpose', [k], { perm: swapLast });
  const value = packed ? splitHeads(cx, v, numHeads, false) : v;
  let scores = cx.emit('MatMul', [query, keyT]);
  if (scale !== 1) scores = cx.emit('Mul', [scores, cx.constant(f32(scale))]);
  if (node.inputs[3] !== null && node.inputs[3] !== undefined) scores = cx.emit('Add', [scores, cx.input(node, 3)]);
  if (node.inputs[4] !== null && node.inputs[4] !== undefined) scores = cx.emit('Where', [cx.input(node, 4), scores, cx.constant(f32(maskFill))]);
  if (causal) {
    const q0 = cx.inputType(node, 0).shape;
    const k0 = cx.inputType(node, 1).shape;
    const [l, s] = packed ? [q0[1]!, k0[1]!] : [q0[q0.length - 2]!, k0[k0.length - 2]!];
    scores = cx.emit('Where', [causalKeep(cx, l, s), scores, cx.constant(f32(-Infinity))]);
  }
  const weights = cx.emit('Softmax', [scores], { axis: -1 }, probs ? cx.output(node, 1) : undefined);
  if (!packed) {
    cx.emit('MatMul', [weights, value], {}, cx.output(node));
    return;
  }
  const heads = cx.emit('MatMul', [weights, value]);
  const merged = cx.emit('Transpose', [heads], { perm: [0, 2, 1, 3] });
  cx.emit('Reshape', [merged, cx.int64([0, 0, -1])], {}, cx.output(node));
}

/** The mask the ONNX and ONNX Runtime attention ops take: the bias, the boolean mask, or both as one float (-inf where masked). */
function combinedMask(node: NodeOf<'Attention'>, cx: LoweringContext): string {
  const [bias, mask] = [present(node, 3) ? cx.input(node, 3) : '', present(node, 4) ? cx.input(node, 4) : ''];
  if (!bias || !mask) return bias || mask;
  return cx.emit('Where', [mask, bias, cx.constant(f32(-Infinity))]);
}

const present = (node: NodeOf<'Attention'>, i: number) => node.inputs[i] !== null && node.inputs[i] !== undefined;

/** The query length L. */
function q0(cx: LoweringContext, node: NodeOf<'Attention'>, numHeads: number): Dim {
  const q = cx.inputType(node, 0).shape;
  return numHeads > 0 ? q[1]! : q[q.length - 2]!;
}

/**
 * Opset 23's Attention, where it computes exactly what the IR op does: packed heads as its 3-D
 * form (q_num_heads), split heads of rank 4 as its 4-D form, one head of rank 3 as the 3-D form
 * with one head. It adds a float mask and takes part where a boolean one is true, so a mask whose
 * masked scores become a finite number (d2l's -1e6, which gives a fully masked row uniform
 * weights, where -inf gives none) stays decomposed; so do Swin's rank-5 windows. One difference
 * remains, in ONNX Runtime's kernel: a row whose every key is masked gets finite weights there,
 * NaN in PyTorch and in the decomposed graph.
 */
function attentionOnnx23(node: NodeOf<'Attention'>, cx: LoweringContext): boolean {
  const { numHeads, scale, causal, maskFill, probs } = node.attrs;
  const rank = cx.inputType(node, 0).shape.length;
  if (present(node, 4) && maskFill !== -Infinity) return false;
  if (!(numHeads > 0 || rank === 3 || rank === 4)) return false;
  const oneHead = numHeads === 0 && rank === 3;
  const heads = numHeads > 0 ? numHeads : 1;
  let mask = combinedMask(node, cx);
  const maskShape = broadcastShapes([3, 4].filter((i) => present(node, i)).map((i) => cx.inputType(node, i).shape));
  // ONNX Runtime wants the mask's query axis whole: a mask shared by every query is expanded
  const l = q0(cx, node, numHeads);
  if (mask && maskShape.length >= 2 && maskShape[maskShape.length - 2] === 1 && l !== 1) {
    mask = cx.emit('Expand', [mask, cx.shape([...maskShape.slice(0, -2).map(() => 1), l, 1])]);
  }
  // one head of rank 3: the scores (P, L, S) are ONNX's (P, 1, L, S); a mask over P gets the head axis
  if (oneHead && maskShape.length === 3) mask = cx.emit('Unsqueeze', [mask, cx.int64([1])]);
  const probsOut = !probs ? '' : oneHead ? cx.fresh() : cx.output(node, 1);
  cx.emitNode(
    'Attention',
    [cx.input(node, 0), cx.input(node, 1), cx.input(node, 2), mask],
    [cx.output(node), '', '', probsOut],
    {
      scale: { float: scale },
      is_causal: causal ? 1 : 0,
      ...(numHeads > 0 || oneHead ? { q_num_heads: heads, kv_num_heads: heads } : {}),
      // the probabilities: the scores after the softmax
      ...(probs ? { qk_matmul_output_mode: 3 } : {}),
    },
  );
  if (probs && oneHead) cx.emit('Squeeze', [probsOut, cx.int64([1])], {}, cx.output(node, 1));
  return true;
}

/**
 * ONNX Runtime's com.microsoft MultiHeadAttention, where its CPU kernel is the faster form (the
 * policy, from measurements) and where it computes exactly what the IR op does: packed heads, no
 * probabilities output, no causal mask, masked scores at -inf; the bias and mask become its
 * attention_bias of shape (1 or B, 1 or H, L, S).
 */
function attentionOrt(node: NodeOf<'Attention'>, cx: LoweringContext): boolean {
  const { numHeads, scale, causal, maskFill, probs } = node.attrs;
  if (numHeads === 0 || probs || causal || (present(node, 4) && maskFill !== -Infinity)) return false;
  const [q, k] = [cx.inputType(node, 0).shape, cx.inputType(node, 1).shape];
  const batch = q[0]!;
  // a batch of windows per sample: the batch dim's numeric factor (B*64 for Swin's first stage)
  const perSample = typeof batch === 'number' ? 1 : Math.max(1, ...batch.terms.map((t) => Math.abs(t.coef)));
  const width = q[2]!;
  if (typeof width !== 'number') return false;
  const concrete = (d: Dim) => (typeof d === 'number' ? d : undefined);
  const shape = broadcastShapes([3, 4].filter((i) => present(node, i)).map((i) => cx.inputType(node, i).shape));
  const perHead = shape.length >= 3 && shape[shape.length - 3] !== 1;
  const kind = shape.length === 0 ? 'none' : perHead || shape[shape.length - 2] !== 1 ? 'heads' : 'keys';
  if (!cx.ortAttention({ problems: perSample * numHeads, queries: concrete(q[1]!), keys: concrete(k[1]!), headDim: width / numHeads, bias: kind })) return false;
  let bias = combinedMask(node, cx);
  if (bias && present(node, 4) && !present(node, 3)) bias = cx.emit('Where', [bias, cx.constant(f32(0)), cx.constant(f32(-Infinity))]);
  if (bias) {
    const full: Dim[] = [...Array.from({ length: 4 - shape.length }, () => 1), ...shape];
    if (full.length !== 4) return false;
    if (full.length > shape.length) bias = cx.emit('Reshape', [bias, cx.shape(full)]);
    // the kernel reads L x S whole: a bias shared by every query or key is expanded
    if (full[2] === 1 || full[3] === 1) bias = cx.emit('Expand', [bias, cx.shape([1, 1, q[1]!, k[1]!])]);
  }
  cx.emitNode(
    'MultiHeadAttention',
    [cx.input(node, 0), cx.input(node, 1), cx.input(node, 2), '', '', bias],
    [cx.output(node)],
    { num_heads: numHeads, scale: { float: scale } },
    'com.microsoft',
  );
  return true;
}

export const fusedOps = {
  Attention: (node, cx) => {
    if (cx.target === 'onnx23' && attentionOnnx23(node, cx)) return;
    if (cx.target === 'onnxruntime' && attentionOrt(node, cx)) return;
    attentionPortable(node, cx);
  },

  /**
   * x @ W^T + b: ONNX Runtime folds the transpose of an initializer once, at session start; the
   * onnxruntime target writes its FusedMatMul with transB instead, one node fewer, as fast
   * (Swin-T: 87.0 against 87.5 ms, measured side by side).
   */
  Linear: (node, cx) => {
    const hasBias = node.inputs[2] !== null && node.inputs[2] !== undefined;
    const y = hasBias ? cx.fresh() : cx.output(node);
    if (cx.target === 'onnxruntime') cx.emitNode('FusedMatMul', [cx.input(node, 0), cx.input(node, 1)], [y], { transB: 1, alpha: { float: 1 } }, 'com.microsoft');
    else cx.emit('MatMul', [cx.input(node, 0), cx.emit('Transpose', [cx.input(node, 1)], { perm: [1, 0] })], {}, y);
    if (hasBias) cx.emit('Add', [y, cx.input(node, 2)], {}, cx.output(node));
  },

  /** 0.5 x (1 + erf(x / sqrt 2)), the form ONNX Runtime's Gelu fusion recognizes; its com.microsoft Gelu for the onnxruntime target. */
  Gelu: (node, cx) => {
    if (cx.target === 'onnxruntime') {
      cx.emitNode('Gelu', [cx.input(node, 0)], [cx.output(node)], {}, 'com.microsoft');
      return;
    }
    const x = cx.input(node, 0);
    const e = cx.emit('Erf', [cx.emit('Div', [x, cx.constant(f32(Math.SQRT2))])]);
    const half = cx.emit('Mul', [x, cx.constant(f32(0.5))]);
    cx.emit('Mul', [half, cx.emit('Add', [e, cx.constant(f32(1))])], {}, cx.output(node));
  },
} satisfies Partial<OnnxOpTable>;
