/** Activation modules under `torch.nn`'s names; they hold no parameters. */
import { ConfigError } from '../errors.ts';
import * as F from '../functional.ts';
import { Module } from '../module.ts';
import type { Tensor } from '../tensor.ts';

/** `nn.ReLU()`: max(x, 0). */
export class ReLU extends Module {
  forward<R extends number>(x: Tensor<'float32', R>): Tensor<'float32', R> {
    return F.relu(x);
  }
}

/**
 * `nn.GELU(approximate='none' | 'tanh')`: x * Phi(x) with the error function (the compiler's
 * `gelu` fusion makes it one `Gelu` op), or torch's tanh approximation
 * 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
 */
export class GELU extends Module {
  constructor(readonly approximate: 'none' | 'tanh' = 'none') {
    super();
    // torch's own check, for callers without the type
    if (approximate !== 'none' && approximate !== 'tanh') throw new ConfigError(`GELU: approximate must be 'none' or 'tanh', got '${String(approximate)}'`);
  }
  forward<R extends number>(x: Tensor<'float32', R>): Tensor<'float32', R> {
    if (this.approximate === 'none') return F.gelu(x);
    const inner = x.add(x.pow(3).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
    return x.mul(inner.tanh().add(1)).mul(0.5) as Tensor<'float32', R>;
  }
}

/** `nn.Identity()`: returns its input, a placeholder where a layer is optional. */
export class Identity extends Module {
  forward<T extends Tensor>(x: T): T {
    return x;
  }
}
