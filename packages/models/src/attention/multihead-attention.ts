import { type Dim, divDims, Module, mulDims, nn, type Tensor } from '@tessera/graph-dsl';
import { ConfigError } from '../config.ts';
import { DotProductAttention } from './dot-product-attention.ts';

/** d2l's multi-head attention: project, split into heads, attend per head, merge, project. */
export class MultiHeadAttention extends Module {
  readonly attention: DotProductAttention;
  readonly W_q: nn.Linear;
  readonly W_k: nn.Linear;
  readonly W_v: nn.Linear;
  readonly W_o: nn.Linear;
  constructor(keySize: number, querySize: number, valueSize: number, readonly numHiddens: number, readonly numHeads: number, dropout = 0, bias = false) {
    super();
    if (numHiddens % numHeads !== 0) throw new ConfigError(`MultiHeadAttention: num_hiddens (${numHiddens}) must be divisible by num_heads (${numHeads})`);
    this.attention = new DotProductAttention(dropout);
    this.W_q = new nn.Linear(querySize, numHiddens, bias);
    this.W_k = new nn.Linear(keySize, numHiddens, bias);
    this.W_v = new nn.Linear(valueSize, numHiddens, bias);
    this.W_o = new nn.Linear(numHiddens, numHiddens, bias);
  }
  forward(queries: Tensor<'float32', 3>, keys: Tensor<'float32', 3>, values: Tensor<'float32', 3>, validLens?: Tensor<'int32', 1> | Tensor<'int32', 2>) {
    return this.attend(this.W_q.forward(queries), this.W_k.forward(keys), this.W_v.forward(values), validLens);
  }
  /**
   * The part after the input projections: queries, keys and values already projected to
   * (B, n, num_hiddens). A decoder with a key/value cache projects only the new token and calls this.
   */
  attend(queries: Tensor<'float32', 3>, keys: Tensor<'float32', 3>, values: Tensor<'float32', 3>, validLens?: Tensor<'int32', 1> | Tensor<'int32', 2>) {
    const [q, k, v] = [this.splitHeads(queries), this.splitHeads(keys), this.splitHeads(values)];
    // Each head sees the same valid lengths: repeat every batch row's lengths num_heads times.
    const lens = validLens?.repeatInterleave(this.numHeads, 0);
    const { output, attentionWeights } = this.attention.forward(q, k, v, lens);
    return { output: this.W_o.forward(this.mergeHeads(output)), attentionWeights };
  }
  /** (B, n, hiddens) -> (B*heads, n, hiddens/heads) */
  private splitHeads(x: Tensor<'float32', 3>): Tensor<'float32', 3> {
    const [b, n] = [x.size(0), x.size(1)];
    return x.reshape([b, n, this.numHeads, this.numHiddens / this.numHeads]).permute(0, 2, 1, 3).reshape([mulDims(b, this.numHeads), n, this.numHiddens / this.numHeads]);
  }
  /** (B*heads, n, hiddens/heads) -> (B, n, hiddens) */
  private mergeHeads(x: Tensor<'float32', 3>): Tensor<'float32', 3> {
    const n: Dim = x.size(1);
    // Sizes written out rather than -1: with a symbolic length (a cache of P+1 steps) -1 would need polynomial division.
    const b = divDims(x.size(0), this.numHeads);
    return x.reshape([b, this.numHeads, n, this.numHiddens / this.numHeads]).permute(0, 2, 1, 3).reshape([b, n, this.numHiddens]);
  }
}
