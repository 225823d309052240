/**
 * Browsers (and any bundle built without the `node` condition): no native backend; the wasm
 * binaries are wherever the page serves them (tfjs's own default, or `setWasmPaths` from
 * @tensorflow/tfjs-backend-wasm before `initBackend`); gradients from tfjs-core's ES modules.
 */
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import type { Platform } from './types.ts';

export const platform: Platform = {
  registerGradients() {},
  loadNative() {
    return 'tfjs-node runs only in Node.js';
  },
  wasmPath() {
    return undefined;
  },
};
