/** Every error of a safetensors file or tensor: one paragraph naming the file, what is wrong and what was expected. */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}
