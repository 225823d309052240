/** The inputs given to a run do not fit the graph: names the input, what it expects and what it got. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/** Weights do not fit the graph's parameters: lists every missing, unexpected and mis-shaped key. */
export class WeightsError extends Error {
  override readonly name = 'WeightsError';
  constructor(
    message: string,
    readonly missing: readonly string[] = [],
    readonly unexpected: readonly string[] = [],
    readonly mismatched: readonly string[] = [],
  ) {
    super(message);
  }
}

/** The graph cannot be lowered to tfjs (an op with no kernel, a symbol no input binds). */
export class LoweringError extends Error {
  override readonly name = 'LoweringError';
}
