import { Module, Parameter, type Tensor } from '@tessera/graph-dsl';

export interface PoolingResult {
  readonly output: Tensor<'float32', 1>;
  readonly attentionWeights: Tensor<'float32', 2>;
}

/**
 * Attention pooling with a Gaussian kernel: f(x) = sum_i softmax_i(-((x - x_i) w)^2 / 2) y_i.
 * Keys and values are (K,) shared by every query, or (Q, K), one row per query (d2l trains
 * with each training point left out of its own keys). Without w it is the nonparametric form.
 */
export function gaussianPooling(queries: Tensor<'float32', 1>, keys: Tensor<'float32', number>, values: Tensor<'float32', number>, w?: Tensor<'float32', 1>): PoolingResult {
  const distance = queries.unsqueeze(1).sub(keys as Tensor<'float32', 2>); // (Q, K)
  const scaled = w ? distance.mul(w) : distance;
  const attentionWeights = scaled.mul(scaled).mul(-0.5).softmax(-1) as Tensor<'float32', 2>;
  const output = attentionWeights.mul(values as Tensor<'float32', 2>).sum(-1) as Tensor<'float32', 1>;
  return { output, attentionWeights };
}

/** The nonparametric regressor has no parameters: the kernel alone decides. */
export class NadarayaWatson extends Module {
  forward(queries: Tensor<'float32', 1>, keys: Tensor<'float32', number>, values: Tensor<'float32', number>): PoolingResult {
    return gaussianPooling(queries, keys, values);
  }
}

/** The parametric regressor learns the kernel width w (d2l's NWKernelRegression, w ~ U(0, 1)). */
export class NWKernelRegression extends Module {
  readonly w: Parameter<1> = new Parameter([1], { kind: 'uniform', low: 0, high: 1 });
  forward(queries: Tensor<'float32', 1>, keys: Tensor<'float32', number>, values: Tensor<'float32', number>): PoolingResult {
    return gaussianPooling(queries, keys, values, this.w);
  }
}

/** The training objective of d2l's example: squared errors summed over the training points (MSELoss(reduction='none').sum()). */
export class SquaredErrorLoss extends Module {
  constructor(readonly regressor: NWKernelRegression) {
    super();
  }
  forward(queries: Tensor<'float32', 1>, keys: Tensor<'float32', 2>, values: Tensor<'float32', 2>, targets: Tensor<'float32', 1>) {
    const error = this.regressor.forward(queries, keys, values).output.sub(targets);
    return { loss: error.mul(error).sum(0) };
  }
}
