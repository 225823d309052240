import { Module, nn, type Tensor } from '@tessera/graph-dsl';

/** The residual connection followed by layer normalization (post-norm): LayerNorm(dropout(Y) + X). */
export class AddNorm extends Module {
  readonly dropout: nn.Dropout;
  readonly ln: nn.LayerNorm;
  constructor(normalizedShape: number, dropout = 0) {
    super();
    this.dropout = new nn.Dropout(dropout);
    this.ln = new nn.LayerNorm(normalizedShape);
  }
  forward(X: Tensor<'float32', 3>, Y: Tensor<'float32', 3>): Tensor<'float32', 3> {
    return this.ln.forward(this.dropout.forward(Y).add(X) as Tensor<'float32', 3>);
  }
}
