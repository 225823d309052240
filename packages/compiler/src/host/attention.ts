/** Attention on the host, written as the unfused ops it stands for: the reference the attention fusion is checked against. */
import { type AttentionAttrs, headSwap, type HostTensor, hostTensor, swapAxes } from '@tessera/graph-dsl';
import { Add, Mul, Where } from './elementwise.ts';
import { MatMul, Softmax } from './math.ts';
import { Reshape, Transpose } from './shape.ts';

type In = readonly (HostTensor | null)[];

const scalar = (v: number) => hostTensor('float32', [], [v]);
const swapLast = (x: HostTensor) => Transpose([x], { perm: swapAxes(x.shape.length, -2, -1) })[0]!;

/** (..., n, H*E) -> (..., H, n, E) */
function splitHeads(x: HostTensor, heads: number): HostTensor {
  const width = x.shape[x.shape.length - 1]!;
  return Transpose(Reshape([x], { shape: [...x.shape.slice(0, -1), heads, width / heads] }), { perm: headSwap(x.shape.length + 1) })[0]!;
}

/** softmax(where(mask, scale * Q K^T + bias, maskFill), causal) V on split heads. */
function attend(q: HostTensor, k: HostTensor, v: HostTensor, bias: HostTensor | null, mask: HostTensor | null, attrs: AttentionAttrs): [HostTensor, HostTensor] {
  let scores = Mul([MatMul([q, swapLast(k)])[0]!, scalar(attrs.scale)])[0]!;
  if (bias) scores = Add([scores, bias])[0]!;
  if (mask) scores = Where([mask, scores, scalar(attrs.maskFill)])[0]!;
  if (attrs.causal) {
    const [l, s] = scores.shape.slice(-2) as [number, number];
    const keep = hostTensor('bool', [l, s]);
    for (let i = 0; i < l; i++) for (let j = 0; j <= Math.min(i, s - 1); j++) keep.data[i * s + j] = 1;
    scores = Where([keep, scores, scalar(-Infinity)])[0]!;
  }
  const probs = Softmax([scores], { axis: -1 })[0]!;
  return [MatMul([probs, v])[0]!, probs];
}

export function Attention([q, k, v, bias, mask]: In, attrs: AttentionAttrs): HostTensor[] {
  const heads = attrs.numHeads;
  if (heads === 0) {
    const [out, probs] = attend(q!, k!, v!, bias ?? null, mask ?? null, attrs);
    return attrs.probs ? [out, probs] : [out];
  }
  const [out, probs] = attend(splitHeads(q!, heads), splitHeads(k!, heads), splitHeads(v!, heads), bias ?? null, mask ?? null, attrs);
  const merged = Reshape(Transpose([out], { perm: headSwap(out.shape.length) }), { shape: [...q!.shape.slice(0, -1), v!.shape[v!.shape.length - 1]!] })[0]!;
  return attrs.probs ? [merged, probs] : [merged];
}
