import { Module, nn, type Tensor } from '@tessera/graph-dsl';

/** The position-wise feed-forward network: the same two-layer MLP at every position, Linear -> ReLU -> Linear. */
export class PositionWiseFFN extends Module {
  readonly dense1: nn.Linear;
  readonly relu: nn.ReLU;
  readonly dense2: nn.Linear;
  constructor(ffnNumInput: number, ffnNumHiddens: number, ffnNumOutputs: number) {
    super();
    this.dense1 = new nn.Linear(ffnNumInput, ffnNumHiddens);
    this.relu = new nn.ReLU();
    this.dense2 = new nn.Linear(ffnNumHiddens, ffnNumOutputs);
  }
  forward(X: Tensor<'float32', 3>): Tensor<'float32', 3> {
    return this.dense2.forward(this.relu.forward(this.dense1.forward(X)));
  }
}
