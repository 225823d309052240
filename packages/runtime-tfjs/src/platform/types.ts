/** What backend selection needs from the platform it runs on (Node.js or a browser). */
export interface Platform {
  /** Registers tfjs's gradients (training needs them). */
  registerGradients(): void;
  /** Loads tfjs-node, which registers the 'tensorflow' backend; returns why it cannot, or throws. */
  loadNative(): string | undefined;
  /** The directory of tfjs-backend-wasm's .wasm files, or undefined to leave tfjs's setting. */
  wasmPath(): string | undefined;
}
