/** The fused ops: Attention, Linear and Gelu, as ONNX nodes. */
import { broadcastShapes, type Dim, dimsEqual, divDims, headSwap, hostTensor, isSymbolic, type Node, type NodeOf, normalizeAxis, shapesEqual, sliceRange, swapAxes } from '@tessera/graph-dsl';
import { type LoweringContext, type View } from '../context.ts';
import type { OnnxOpTable } from './types.ts';

const f32 = (v: number) => hostTensor('float32', [], [v]);

/** 0 for each leading dim of a rank-`rank` value (ONNX Reshape copies them), then `rest`. */
const keepLeading = (rank: number, rest: readonly number[]) => [...Array.from({ length: rank }, () => 0), ...rest];

/** (..., n, H*E) -> (..., H, n, E), or (..., H, E, n) for a key read transposed. */
function splitHeads(cx: LoweringContext, x: string, rank: number, heads: number, transposed: boolean): string {
  const split = cx.emit('Reshape', [x, cx.int64(keepLeading(rank - 1, [heads, -1]))]);
  const perm = headSwap(rank + 1);
  return cx.emit('Transpose', [split], { perm: transposed ? [...perm.slice(0, -2), rank, rank - 2] : perm });
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
 * Self-attention's Q, K and V as consecutive thirds of one tensor's last axis (a packed
 * in-projection, torch's in_proj_weight or Swin's qkv), each perhaps reshaped in its leading dims
 * only (Swin's windows): that tensor, which the heads are then split from at once.
 */
function packedSource(node: NodeOf<'Attention'>, cx: LoweringContext): number | undefined {
  const q = cx.inputType(node, 0).shape;
  const slices = [0, 1, 2].map((i) => {
    let p = cx.producer(node.inputs[i]);
    if (p?.op === 'Reshape') p = cx.producer(p.inputs[0]);
    return p?.op === 'Slice' ? (p as NodeOf<'Slice'>) : undefined;
  });
  const x = slices[0]?.inputs[0];
  if (x === null || x === undefined || node.attrs.probs) return undefined;
  const xs = cx.type(x).shape;
  const [n, width] = xs.slice(-2) as [Dim, Dim];
  if (typeof width !== 'number' || width % 3 !== 0) return undefined;
  const c = width / 3;
  const third = (slice: NodeOf<'Slice'> | undefined, i: number) => {
    if (!slice || slice.inputs[0] !== x || slice.attrs.step !== 1 || normalizeAxis(slice.attrs.axis, xs.length) !== xs.length - 1) return false;
    const { begin, length } = sliceRange(width, slice.attrs);
    const shape = cx.inputType(node, i).shape;
    return begin === i * c && length === c && shape.length === q.length && shape.every((d, j) => dimsEqual(d, q[j]!)) && dimsEqual(q[q.length - 2]!, n);
  };
  return slices.every(third) && q[q.length - 1] === c ? x : undefined;
}

/**
 * Attention in standard opset-17 ops: the heads split (packed layout), Q K^T, scale, bias,
 * mask, causal mask, Softmax, times V, the heads merged. Packed Q, K and V of one source are split
 * together: one Reshape to (..., n, 3, H, E), one Transpose to (3, ..., H, n, E), one Split, the
 * unit axis left in front (the bias and mask broadcast from the right as before) and moved out of
 * the way by the merge. For the onnxruntime target, com.microsoft FusedMatMul takes K untransposed
 * and the scale as its alpha (one node for the Transpose, MatMul and Mul).
 */
export function attentionPortable(node: NodeOf<'Attention'>, cx: LoweringContext): void {
  const { numHeads, scale, causal, maskFill, probs } = node.attrs;
  const packed = numHeads > 0;
  const ort = cx.target === 'onnxruntime';
  const [q, k, v] = [0, 1, 2].map((i) => cx.input(node, i)) as [string, string, string];
  const qShape = cx.inputType(node, 0).shape;
  const rank = qShape.length;
  // one Transpose of the packed source pays where FusedMatMul reads K as it comes out of it; in
  // standard ops ONNX Runtime folds each head split's Transpose into its MatMul instead, which the
  // Split hides from it (ViT-B/16 portable spent 9.8 ms in Transposes this way against 2.8 ms)
  const source = packed && ort ? packedSource(node, cx) : undefined;
  // the heads as (..., H, n, E); K also as (..., H, E, n) where that is what is at hand
  let heads: { q: string; k?: string; kT?: string; v: string };
  // the packed source as it is held (Swin's (B, H*W, 3C)): its rows are Q's, K's and V's in order
  const rows = source === undefined ? undefined : lastAxisView(cx, source);
  if (rows !== undefined) {
    const width = qShape[rank - 1] as number;
    const split = cx.reshape(rows.name, rows.shape, [...qShape.slice(0, -1), 3, numHeads, width / numHeads]);
    const lead = Array.from({ length: rank - 2 }, (_, i) => i);
    const moved = cx.emit('Transpose', [split], { perm: [rank - 1, ...lead, rank, rank - 2, rank + 1] });
    const [sq, sk, sv] = [cx.fresh(), cx.fresh(), cx.fresh()];
    cx.emitNode('Split', [moved, cx.int64([1, 1, 1])], [sq, sk, sv], { axis: 0 });
    heads = { q: sq, k: sk, v: sv };
  } else if (packed) {
    heads = { q: splitHeads(cx, q, rank, numHeads, false), kT: splitHeads(cx, k, rank, numHeads, true), v: splitHeads(cx, v, rank, numHeads, false) };
  } else heads = { q, k, v };
  let scores: string;
  if (ort) {
    const transB = heads.kT === undefined ? 1 : 0;
    scores = cx.fresh();
    cx.emitNode('FusedMatMul', [heads.q, heads.kT ?? heads.k!], [scores], { transB, alpha: { float: scale } }, 'com.microsoft');
  } else {
    // a packed split gives kT; K itself only comes unsplit, at the query's rank
    const keyT = heads.kT ?? cx.emit('Transpose', [heads.k!], { perm: swapAxes(rank, -2, -1) });
    scores = cx.emit('MatMul', [heads.q, keyT]);
    if (scale !== 1) scores = cx.emit('Mul', [scores, cx.constant(f32(scale))]);
  }
  if (present(node, 3)) scores = cx.emit('Add', [scores, cx.input(node, 3)]);
  if (present(node, 4)) scores = cx.emit('Where', [cx.input(node, 4), scores, cx.constant(f32(maskFill))]);
  if (causal) {
    const k0 = cx.inputType(node, 1).shape;
    scores = cx.emit('Where', [causalKeep(cx, qShape[rank - 2]!, k0[k0.length - 2]!), scores, cx.constant(f32(-Infinity))]);
  }
  let weights = cx.emit('Softmax', [scores], { axis: -1 }, probs ? cx.output(node, 1) : undefined);
  if (ort && !probs && mayUnderflow(node, cx)) weights = cx.emit('Max', [weights, cx.constant(f32(WEIGHT_FLOOR))]);
  if (!packed) {
    cx.emit('MatMul', [weights, heads.v], {}, cx.output(node));
    return;
  }
  const out = cx.emit('MatMul', [weights, heads.v]);
  // (1, ..., H, n, Ev) -> (..., n, 1, H, Ev) for the packed split; (..., H, n, Ev) -> (..., n, H, Ev) otherwise
  const lead = Array.from({ length: rank - 2 }, (_, i) => i + 1);
  if (rows === undefined) {
    const merged = cx.emit('Transpose', [out], { perm: headSwap(rank + 1) });
    cx.emit('Reshape', [merged, cx.int64(keepLeading(rank - 1, [-1]))], {}, cx.output(node));
    return;
  }
  const merged = cx.emit('Transpose', [out], { perm: [...lead, rank, 0, rank - 1, rank + 1] });
  // the output's rows are the source's: it is held in the source's leading dims
  const width = cx.type(node.outputs[0]!).shape.at(-1)!;
  const mergedShape = [...qShape.slice(0, -1), 1, numHeads, divDims(width, numHeads)];
  cx.outputAs(node, [...rows.shape.slice(0, -1), width], (name) => cx.reshape(merged, mergedShape, [...rows.shape.slice(0, -1), width], name));
}

/** The smallest normal float32: softmax weights below it are denormal, which ONNX Runtime's CPU matmul multiplies many times slower. */
const FLT_MIN = 2 ** -126;
/** The floor the weights are raised to: far from the denormals even once multiplied by V (2^-100, 8e-31), far below any weight that counts. */
const WEIGHT_FLOOR = 2 ** -100;

/**
 * Whether a constant bias reaches below ln(FLT_MIN) (Swin's -100 shift mask): the softmax weights of
 * those scores come out denormal. On Swin-T they made the 12 products with V take 27.2 ms of 126.0;
 * with the weights raised to WEIGHT_FLOOR (one Max, a change of at most 8e-31 a weight) 1.6 ms of
 * 103.8 (bench/ort-profile.ts: each node's fastest of 6 runs, one thread, ONNX Runtime 1.30; with
 * ONNX Runtime's set_denormal_as_zero instead, 1.4). The onnxruntime target writes the Max.
 */
function mayUnderflow(node: NodeOf<'Attention'>, cx: LoweringContext): boolean {
  const bias = cx.producer(node.inputs[3]);
  if (bias?.op !== 'Constant') return false;
  const { data } = (bias as NodeOf<'Constant'>).attrs.value;
  for (let i = 0; i < data.length; i++) if (Number(data[i]) < Math.log(FLT_MIN)) return true;
  return false;
}

const present = (node: Node, i: number) => node.inputs[i] !== null && node.inputs[i] !== undefined;

/** A value in the shape it is held in, where that keeps the last axis (what a product or a norm over it reads); as its IR type otherwise. */
export function lastAxisView(cx: LoweringContext, value: number): View {
  const held = cx.viewOf(value);
  const ir = cx.type(value).shape;
  return dimsEqual(held.shape.at(-1)!, ir.at(-1)!) ? held : { name: cx.nameOf(value), shape: ir };
}

/** The mask the ONNX and ONNX Runtime attention ops take: the bias, the boolean mask, or both as one float (-inf where masked). */
function combinedMask(node: NodeOf<'Attention'>, cx: LoweringContext): string {
  const [bias, mask] = [present(node, 3) ? cx.input(node, 3) : '', present(node, 4) ? cx.input(node, 4) : ''];
  if (!bias || !mask) return bias || mask;
  return cx.emit('Where', [mask, bias, cx.constant(f32(-Infinity))]);
}

/** The query length L. */
function q0(cx: LoweringContext, node: NodeOf<'Attention'>): Dim {
  const q = cx.inputType(node, 0).shape;
  return q[q.length - 2]!;
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
  // its packed form is 3-D: (B, L, H*E)
  if (!((numHeads > 0 && rank === 3) || (numHeads === 0 && (rank === 3 || rank === 4)))) return false;
  const oneHead = numHeads === 0 && rank === 3;
  const heads = numHeads > 0 ? numHeads : 1;
  let mask = combinedMask(node, cx);
  const maskShape = broadcastShapes([3, 4].filter((i) => present(node, i)).map((i) => cx.inputType(node, i).shape));
  // ONNX Runtime wants the mask's query axis whole: a mask shared by every query is expanded
  const l = q0(cx, node);
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
 * attention_bias of shape (1 or B, 1 or H, L, S). Self-attention whose Q, K and V are one packed
 * Linear of its input becomes com.microsoft Attention instead, the in-projection inside it (see
 * ort-attention.ts for what it measured).
 */
function attentionOrt(node: NodeOf<'Attention'>, cx: LoweringContext): boolean {
  const { numHeads, scale, causal, maskFill, probs } = node.attrs;
  if (numHeads === 0 || probs || causal || (present(node, 4) && maskFill !== -Infinity)) return false;
  const [q, k] = [cx.inputType(node, 0).shape, cx.inputType(node, 1).shape];
  if (q.length !== 3) return false;
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
  // with its in-projection, com.microsoft Attention: one node for the packed product, the heads and the attention
  const projection = cx.fuseInProjection ? inProjection(node, cx) : undefined;
  if (projection) {
    const weights = cx.emit('Transpose', [projection.weight], { perm: [1, 0] });
    cx.emitNode('Attention', [projection.x, weights, projection.bias, '', '', bias], [cx.output(node)], { num_heads: numHeads, scale: { float: scale } }, 'com.microsoft');
    return true;
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

/** Self-attention whose Q, K and V are the thirds of one Linear of a (B, L, E) input read by nothing else: that input, weight and bias. */
function inProjection(node: NodeOf<'Attention'>, cx: LoweringContext): { x: string; weight: string; bias: string } | undefined {
  const source = packedSource(node, cx);
  const linear = cx.producer(source);
  if (source === undefined || linear?.op !== 'Linear' || !present(linear, 2) || cx.readers(source) !== 3) return undefined;
  if (![0, 1, 2].every((i) => cx.producer(node.inputs[i])?.op === 'Slice')) return undefined;
  const x = lastAxisView(cx, linear.inputs[0]!);
  const q = cx.inputType(node, 0).shape;
  if (x.shape.length !== 3 || !shapesEqual(x.shape.slice(0, -1), q.slice(0, -1))) return undefined;
  return { x: x.name, weight: cx.input(linear, 1), bias: cx.input(linear, 2) };
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
   * (Swin-T: 87.0 against 87.5 ms, measured side by side). The input is read in the shape it is
   * held in, and the output keeps its leading dims; the product before the bias is kept for a
   * consumer that adds the bias itself.
   */
  Linear: (node, cx) => {
    const x = lastAxisView(cx, node.inputs[0]!);
    const outShape = [...x.shape.slice(0, -1), cx.type(node.outputs[0]!).shape.at(-1)!];
    const hasBias = present(node, 2);
    const product = (out: string) => {
      if (cx.target === 'onnxruntime') cx.emitNode('FusedMatMul', [x.name, cx.input(node, 1)], [out], { transB: 1, alpha: { float: 1 } }, 'com.microsoft');
      else cx.emit('MatMul', [x.name, cx.emit('Transpose', [cx.input(node, 1)], { perm: [1, 0] })], {}, out);
      return out;
    };
    cx.outputAs(node, outShape, (out) => {
      if (!hasBias) return product(out);
      const unbiased = product(cx.fresh());
      cx.setUnbiased(node, { name: unbiased, shape: outShape, bias: cx.input(node, 2) });
      return cx.emit('Add', [unbiased, cx.input(node, 2)], {}, out);
    });
  },

  /**
   * 0.5 x (1 + erf(x / sqrt 2)), the form ONNX Runtime's Gelu fusion recognizes; for the onnxruntime
   * target its com.microsoft Gelu, or BiasGelu taking the bias of the Linear before it (what ONNX
   * Runtime's own fusion makes of Add + Gelu).
   */
  Gelu: (node, cx) => {
    const x = cx.view(node, 0);
    cx.outputAs(node, x.shape, (out) => {
      const unbiased = cx.target === 'onnxruntime' ? cx.unbiased(node, 0) : undefined;
      if (unbiased) return cx.emitNode('BiasGelu', [unbiased.name, unbiased.bias], [out], {}, 'com.microsoft');
      if (cx.target === 'onnxruntime') return cx.emitNode('Gelu', [x.name], [out], {}, 'com.microsoft');
      const e = cx.emit('Erf', [cx.emit('Div', [x.name, cx.constant(f32(Math.SQRT2))])]);
      const half = cx.emit('Mul', [x.name, cx.constant(f32(0.5))]);
      cx.emit('Mul', [half, cx.emit('Add', [e, cx.constant(f32(1))])], {}, out);
    });
  },
} satisfies Partial<OnnxOpTable>;
