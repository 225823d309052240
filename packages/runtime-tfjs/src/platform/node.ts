/**
 * Node.js: tfjs-node (native TensorFlow) where its addon loads, the wasm binaries from the
 * installed package, and the gradients of the @tensorflow/tfjs bundle. Chosen by the `node`
 * condition of the package's `#platform` import; browsers get ./browser.ts.
 */
import { createRequire } from 'node:module';
import * as path from 'node:path';
import type { Platform } from './types.ts';

const require = createRequire(import.meta.url);

export const platform: Platform = {
  registerGradients() {
    // tfjs-core's Node build registers no gradients; the @tensorflow/tfjs bundle registers them all in
    // tfjs's global registry, for every backend.
    require('@tensorflow/tfjs');
  },
  loadNative() {
    require('@tensorflow/tfjs-node');
    return undefined;
  },
  wasmPath() {
    return `${path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'))}/dist/`;
  },
};
