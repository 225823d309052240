/** The basic layers under PyTorch's `torch.nn` names, with its parameter names and default initializers. */
import * as F from '../functional.ts';
import { Module } from '../module.ts';
import { Parameter, type Tensor } from '../tensor.ts';

/** PyTorch's default for Linear and Conv: kaiming_uniform(a=sqrt(5)), i.e. U(-1/sqrt(fan_in), 1/sqrt(fan_in)), and the same bound for the bias. */
function fanInUniform(fanIn: number) {
  const bound = 1 / Math.sqrt(fanIn);
  return { kind: 'uniform', low: -bound, high: bound } as const;
}

export class Linear extends Module {
  readonly weight: Parameter<2>;
  readonly bias: Parameter<1> | undefined;
  constructor(readonly inFeatures: number, readonly outFeatures: number, bias = true) {
    super();
    this.weight = new Parameter([outFeatures, inFeatures], fanInUniform(inFeatures));
    this.bias = bias ? new Parameter([outFeatures], fanInUniform(inFeatures)) : undefined;
  }
  forward<R extends number>(x: Tensor<'float32', R>): Tensor<'float32', R> {
    return F.linear(x, this.weight, this.bias);
  }
}

export class LayerNorm extends Module {
  readonly weight: Parameter<1>;
  readonly bias: Parameter<1>;
  constructor(readonly normalizedShape: number, readonly eps = 1e-5) {
    super();
    this.weight = new Parameter([normalizedShape], { kind: 'constant', value: 1 });
    this.bias = new Parameter([normalizedShape], { kind: 'constant', value: 0 });
  }
  forward<R extends number>(x: Tensor<'float32', R>): Tensor<'float32', R> {
    return F.layerNorm(x, 1, this.weight, this.bias, this.eps);
  }
}

export class Embedding extends Module {
  readonly weight: Parameter<2>;
  constructor(readonly numEmbeddings: number, readonly embeddingDim: number) {
    super();
    this.weight = new Parameter([numEmbeddings, embeddingDim], { kind: 'normal', mean: 0, std: 1 });
  }
  forward(indices: Tensor<'int32'>): Tensor<'float32', number> {
    return F.embedding(indices, this.weight);
  }
}

export class Conv2d extends Module {
  readonly weight: Parameter<4>;
  readonly bias: Parameter<1> | undefined;
  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    readonly kernelSize: number | readonly [number, number],
    readonly options: F.Conv2dOptions & { bias?: boolean } = {},
  ) {
    super();
    const [kh, kw] = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : kernelSize;
    const groups = options.groups ?? 1;
    const fanIn = (inChannels / groups) * kh * kw;
    this.weight = new Parameter([outChannels, inChannels / groups, kh, kw], fanInUniform(fanIn));
    this.bias = options.bias === false ? undefined : new Parameter([outChannels], fanInUniform(fanIn));
  }
  forward(x: Tensor<'float32', 4>): Tensor<'float32', 4> {
    return F.conv2d(x, this.weight, this.bias, this.options);
  }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
  }
  forward<R extends number>(x: Tensor<'float32', R>): Tensor<'float32', R> {
    return F.dropout(x, this.p);
  }
}
