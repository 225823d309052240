/** `nn.MultiheadAttention`, with torch's parameter names, masks and options. */
import { ConfigError } from '../errors.ts';
import * as F from '../functional.ts';
import { where } from '../functional.ts';
import { Module } from '../module.ts';
import { Parameter, type Tensor } from '../tensor.ts';
import { Linear } from './layers.ts';

export interface MultiheadAttentionOptions {
  readonly dropout?: number;
  readonly bias?: boolean;
  readonly kdim?: number;
  readonly vdim?: number;
  readonly batch_first?: boolean;
}

export interface MultiheadAttentionCall {
  /** (B, S) (or (S,) unbatched is not supported): true, or -inf when float, means "ignore this key". */
  readonly keyPaddingMask?: Tensor<'bool' | 'float32', 2>;
  /** (L, S) or (B*heads, L, S): true means "not allowed"; a float mask is added to the scores. */
  readonly attnMask?: Tensor<'bool' | 'float32', 2> | Tensor<'bool' | 'float32', 3>;
  readonly needWeights?: boolean;
  readonly averageAttnWeights?: boolean;
}

export interface MultiheadAttentionResult {
  readonly output: Tensor<'float32', 3>;
  /** (B, L, S) averaged over heads, or (B, heads, L, S); absent when not asked for. */
  readonly attnWeights?: Tensor<'float32', number>;
}

/** xavier_uniform_ as torch applies it to the packed in-projection. */
function xavierUniform(fanOut: number, fanIn: number) {
  const bound = Math.sqrt(6 / (fanIn + fanOut));
  return { kind: 'uniform', low: -bound, high: bound } as const;
}

/** torch's out_proj, by its class name: a Linear whose bias starts at 0, as MultiheadAttention._reset_parameters sets it. */
class NonDynamicallyQuantizableLinear extends Linear {
  override readonly bias: Parameter<1> | undefined;
  constructor(embedDim: number, bias: boolean) {
    super(embedDim, embedDim, bias);
    this.bias = bias ? new Parameter([embedDim], { kind: 'constant', value: 0 }) : undefined;
  }
}

/**
 * `torch.nn.MultiheadAttention`, with its parameter names, so that its `state_dict` loads as is:
 * `in_proj_weight` (3E, E) and `in_proj_bias`, or `q_proj_weight`, `k_proj_weight`,
 * `v_proj_weight` when kdim or vdim differ from embed_dim; `out_proj.weight`, `out_proj.bias`.
 */
export class MultiheadAttention extends Module {
  readonly in_proj_weight: Parameter<2> | undefined;
  readonly q_proj_weight: Parameter<2> | undefined;
  readonly k_proj_weight: Parameter<2> | undefined;
  readonly v_proj_weight: Parameter<2> | undefined;
  readonly in_proj_bias: Parameter<1> | undefined;
  readonly out_proj: Linear;
  readonly headDim: number;
  readonly kdim: number;
  readonly vdim: number;
  readonly dropout: number;
  readonly batchFirst: boolean;

  constructor(readonly embedDim: number, readonly numHeads: number, options: MultiheadAttentionOptions = {}) {
    super();
    for (const [k, v] of [['embed_dim', embedDim], ['num_heads', numHeads]] as const) {
      if (!(Number.isInteger(v) && v > 0)) throw new ConfigError(`MultiheadAttention: ${k} must be a whole number above 0, got ${v}`);
    }
    if (embedDim % numHeads !== 0) throw new ConfigError(`MultiheadAttention: embed_dim (${embedDim}) must be divisible by num_heads (${numHeads})`);
    this.headDim = embedDim / numHeads;
    this.kdim = options.kdim ?? embedDim;
    this.vdim = options.vdim ?? embedDim;
    this.dropout = options.dropout ?? 0;
    this.batchFirst = options.batch_first ?? false;
    const packed = this.kdim === embedDim && this.vdim === embedDim;
    this.in_proj_weight = packed ? new Parameter([3 * embedDim, embedDim], xavierUniform(3 * embedDim, embedDim)) : undefined;
    this.q_proj_weight = packed ? undefined : new Parameter([embedDim, embedDim], xavierUniform(embedDim, embedDim));
    this.k_proj_weight = packed ? undefined : new Parameter([embedDim, this.kdim], xavierUniform(embedDim, this.kdim));
    this.v_proj_weight = packed ? undefined : new Parameter([embedDim, this.vdim], xavierUniform(embedDim, this.vdim));
    const bias = options.bias ?? true;
    this.in_proj_bias = bias ? new Parameter([3 * embedDim], { kind: 'constant', value: 0 }) : undefined;
    this.out_proj = new NonDynamicallyQuantizableLinear(embedDim, bias);
  }

  forward(query: Tensor<'float32', 3>, key: Tensor<'float32', 3>, value: Tensor<'float32', 3>, call: MultiheadAttentionCall = {}): MultiheadAttentionResult {
    // Work batch-first inside: (B, L, E).
    const [q0, k0, v0] = this.batchFirst ? [query, key, value] : [query, key, value].map((t) => t.transpose(0, 1));
    const E = this.embedDim;
    const project = (x: Tensor<'float32', 3>, i: number, separate: Parameter<2> | undefined) => {
      const weight = separate ?? this.in_proj_weight!.slice(0, i * E, (i + 1) * E);
      return F.linear(x, weight, this.in_proj_bias?.slice(0, i * E, (i + 1) * E));
    };
    const q = this.splitHeads(project(q0!, 0, this.q_proj_weight)); // (B, H, L, hd)
    const k = this.splitHeads(project(k0!, 1, this.k_proj_weight)); // (B, H, S, hd)
    const v = this.splitHeads(project(v0!, 2, this.v_proj_weight));

    let scores = q.div(Math.sqrt(this.headDim)).matmul(k.mT); // (B, H, L, S)
    if (call.attnMask) {
      const mask = call.attnMask.rank === 3 ? call.attnMask.reshape([scores.size(0), this.numHeads, scores.size(2), scores.size(3)]) : call.attnMask;
      scores = applyMask(scores, mask);
    }
    if (call.keyPaddingMask) {
      const padding = call.keyPaddingMask.reshape([call.keyPaddingMask.size(0), 1, 1, call.keyPaddingMask.size(1)]);
      scores = applyMask(scores, padding);
    }
    const weights = scores.softmax(-1);
    const heads = F.dropout(weights, this.dropout).matmul(v); // (B, H, L, hd)
    const merged = heads.transpose(1, 2).reshape([heads.size(0), heads.size(2), E]);
    const out = this.out_proj.forward(merged) as Tensor<'float32', 3>;
    const output = this.batchFirst ? out : out.transpose(0, 1);
    if (call.needWeights === false) return { output };
    return { output, attnWeights: (call.averageAttnWeights ?? true) ? weights.mean(1) : weights };
  }

  /** (B, n, E) -> (B, heads, n, head_dim) */
  private splitHeads(x: Tensor<'float32', 3>): Tensor<'float32', 4> {
    return x.reshape([x.size(0), x.size(1), this.numHeads, this.headDim]).transpose(1, 2);
  }
}

/** A boolean mask puts -inf where it is true (as torch does); a float mask is added. */
function applyMask(scores: Tensor<'float32', 4>, mask: Tensor<'bool' | 'float32', number>): Tensor<'float32', 4> {
  if (mask.dtype === 'bool') return where(mask as Tensor<'bool'>, -Infinity, scores) as Tensor<'float32', 4>;
  return scores.add(mask as Tensor<'float32'>) as Tensor<'float32', 4>;
}
