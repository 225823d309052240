/**
 * Zero gradients for tfjs kernels that have none. Comparisons and logic ops give bool results,
 * so no gradient flows through them, but tfjs refuses to backprop through any kernel without a
 * registered gradient: a model like `where(h > 0, h, 0.1 * h)` could not train. Registered only
 * where tfjs has none (it has one for GreaterEqual), so a future tfjs keeps its own.
 */
import * as tf from '@tensorflow/tfjs-core';

const NON_DIFFERENTIABLE = ['Equal', 'NotEqual', 'Less', 'LessEqual', 'Greater', 'GreaterEqual', 'LogicalAnd', 'LogicalOr', 'LogicalNot'] as const;
const INPUTS: Record<(typeof NON_DIFFERENTIABLE)[number], readonly string[]> = {
  Equal: ['a', 'b'],
  NotEqual: ['a', 'b'],
  Less: ['a', 'b'],
  LessEqual: ['a', 'b'],
  Greater: ['a', 'b'],
  GreaterEqual: ['a', 'b'],
  LogicalAnd: ['a', 'b'],
  LogicalOr: ['a', 'b'],
  LogicalNot: ['x'],
};

export function registerZeroGradients(): void {
  for (const kernelName of NON_DIFFERENTIABLE) {
    if (tf.getGradient(kernelName)) continue;
    const names = INPUTS[kernelName];
    tf.registerGradient({
      kernelName,
      inputsToSave: [...names],
      gradFunc: (_dy, saved) => Object.fromEntries(names.map((n, i) => [n, () => tf.zeros(saved[i]!.shape, 'float32')])),
    });
  }
}

registerZeroGradients();
