/** torchvision's small layers the vision models share, on graph-dsl's `nn` containers. */
import { Module, nn, type Tensor } from '@tessera/graph-dsl';

/** torchvision's `ops.misc.Permute`. */
export class Permute extends Module {
  constructor(readonly dims: readonly number[]) {
    super();
  }
  forward<R extends number>(x: Tensor<'float32', R>): Tensor<'float32', R> {
    return x.permute(...this.dims);
  }
}

/** torchvision's MLPBlock (ViT) and MLP (Swin): Linear -> GELU -> Dropout -> Linear -> Dropout (keys mlp.0, mlp.3). */
export class MLPBlock extends nn.Sequential {
  constructor(inDim: number, mlpDim: number, dropout: number) {
    super(new nn.Linear(inDim, mlpDim), new nn.GELU(), new nn.Dropout(dropout), new nn.Linear(mlpDim, inDim), new nn.Dropout(dropout));
  }
}
