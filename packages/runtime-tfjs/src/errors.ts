/** The graph cannot be lowered to tfjs (an op with no kernel, a symbol no input binds). */
export class LoweringError extends Error {
  override readonly name = 'LoweringError';
}
