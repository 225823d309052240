/**
 * When ONNX Runtime's CPU provider runs com.microsoft MultiHeadAttention faster than the same
 * attention as MatMul, Softmax, MatMul. Measured with packages/cli/bench/ort-attention.ts
 * (ONNX Runtime 1.30, default threads, 2 cores; microseconds, MultiHeadAttention / plain):
 *
 *   attention (problems = windows x heads)    batch 1             batch 8
 *   Swin-T stage 1 (192), per-head bias       6999 / 5473  1.28   58755 / 66366  0.89
 *   Swin-T stage 3 (48), per-head bias         454 / 439   1.04   11752 / 11459  1.03
 *   Swin-T stage 4 (24), per-head bias         320 / 327   0.98    6570 / 3012   2.18
 *   ViT-B/16 (12), no bias                    1578 / 1655  0.95   25657 / 43807  0.59
 *   ViT-B/16 (12), padding bias per key       2074 / 2079  1.00   43137 / 44847  0.96
 *   small MHA (4: 16 tokens), no bias           20 / 25    0.83      53 / 62     0.86
 *   Transformer d128 (4: 20 tokens), padding    27 / 31    0.87     111 / 116    0.96
 *
 * A bias per head (Swin's relative positions) makes the fused kernel as slow or far slower (it
 * reads the bias for every query and key of every head); without one, or with one per key only
 * (padding), it is as fast or faster, most for long sequences at batch 8.
 *
 * Where the rule picks the fused kernel and Q, K, V are one packed Linear of the input (self-
 * attention's in_proj_weight), com.microsoft Attention takes the projection too, one node for
 * FusedMatMul, Add, 3 Slices and MultiHeadAttention. Measured side by side (packages/cli/bench/
 * small-attention.ts; ViT-B/16 as the sum over nodes of each node's fastest of 3-6 runs, one thread):
 *   small MHA (embed 64, 4 heads, 16 tokens)   32.2 us against 39.4 (torch.onnx's: 58.5)
 *   ViT-B/16 batch 1                            260 ms against 267 (portable 275)
 *   ViT-B/16 batch 8                           2189 ms against 2261 (portable 2317)
 */
export interface OrtAttentionShape {
  /** Independent (sample, head) problems per sample: heads, times the windows a sample is cut into. */
  readonly problems: number;
  /** Query and key lengths (undefined where symbolic). */
  readonly queries: number | undefined;
  readonly keys: number | undefined;
  readonly headDim: number;
  /** What is added to the scores: a bias per head (and query and key), one per key only (padding), or nothing. */
  readonly bias: 'heads' | 'keys' | 'none';
}

/** A policy: true to emit MultiHeadAttention. */
export type OrtAttentionPolicy = (shape: OrtAttentionShape) => boolean;

/** The measured rule: the fused kernel unless a bias differs per head. */
export const multiHeadAttentionWins: OrtAttentionPolicy = (shape) => shape.bias !== 'heads';
