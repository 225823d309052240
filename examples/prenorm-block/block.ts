/**
 * A pre-norm Transformer block, written as in PyTorch:
 *
 *     x = x + self_attn(norm1(x))
 *     x = x + mlp(norm2(x))
 *
 * This file is also a model file for the CLI: `tessera summary examples/prenorm-block/block.ts`
 * (its default export is the module, `inputs` the input types with symbolic dims).
 */
import { Module, nn, type Tensor } from '@tessera/graph-dsl';

export class PreNormBlock extends Module {
  // field names become state_dict keys: norm1.weight, self_attn.in_proj_weight, mlp.0.weight, ...
  readonly norm1: nn.LayerNorm;
  readonly self_attn: nn.MultiheadAttention;
  readonly norm2: nn.LayerNorm;
  readonly mlp: nn.Sequential;

  constructor(embedDim: number, numHeads: number, mlpRatio = 4) {
    super();
    this.norm1 = new nn.LayerNorm(embedDim);
    this.self_attn = new nn.MultiheadAttention(embedDim, numHeads, { batch_first: true });
    this.norm2 = new nn.LayerNorm(embedDim);
    this.mlp = new nn.Sequential(new nn.Linear(embedDim, mlpRatio * embedDim), new nn.GELU(), new nn.Linear(mlpRatio * embedDim, embedDim));
  }

  forward(x: Tensor<'float32', 3>) {
    const h = this.norm1.forward(x);
    const attended = x.add(this.self_attn.forward(h, h, h, { needWeights: false }).output);
    return attended.add(this.mlp.forward(this.norm2.forward(attended)));
  }
}

export const EMBED_DIM = 64;
export default new PreNormBlock(EMBED_DIM, 4);
// batch and sequence length stay symbolic: one compiled graph (and one ONNX file) for every size
export const inputs = { x: { dtype: 'float32', shape: ['B', 'T', EMBED_DIM] } } as const;
