/** Attention on the host, written as the unfused ops it stands for: the reference the attention fusion is checked against. */
import { type AttentionAttrs, type HostTensor, hostTensor } from '@tessera/graph-dsl';
import { Add, Mul, Where } from './elementwise.ts';
import { MatMul, Softmax } from './math.ts';
import { Reshape, Transpose } from './shape.ts';

type In = readonly (HostTensor | null)[];

const scalar = (v: number) => hostTensor('float32', [], [v]);
const swapLast = (x: HostTensor) => Transpose([x], { perm: x.shape.map((_, i) => (i === x.shape.length - 2 ? i + 1 : i === x.shape.length - 1 ? i - 1 : i)) })[0]!;

/** (B, n, H*E) -> (B, H, n, E) */
function splitHeads(x: HostTensor, heads: number): HostTensor {
  const [b, n, width] = x.shape as [number, number, number];
  return Transpose(Reshape([x], { shape: [b, n, heads, width / heads] }), { perm: [0, 2, 1, 3] })[0]!;
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
  const [b, l] = q!.shape as [number, number];
  const merged = Reshape(Transpose([out], { perm: [0, 2, 1, 3] }), { shape: [b, l, v!.shape[2]!] })[0]!;
  return attrs.probs ? [merged, probs] : [merged];
}
