#!/usr/bin/env node
import { enableProdMode } from '@tensorflow/tfjs-core';
import { isUserError, main } from './main.ts';
import { isModelFile, registerModelHooks } from './model-file.ts';

// a model file's imports resolve through hooks registered before it loads
if (process.argv.slice(2).some(isModelFile)) await registerModelHooks();
// tfjs's console notes (its cpu backend's "Hi, looks like you are running TensorFlow.js in Node.js"
// banner, in the middle of a training's progress bar) say nothing the CLI's backend line does not
enableProdMode();

main(process.argv.slice(2)).then(
  (out) => process.stdout.write(`${out}\n`),
  (e: unknown) => {
    if (isUserError(e)) process.stderr.write(`error: ${e.message}\n`);
    else process.stderr.write(`internal error (a bug in Tessera, please report it): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exitCode = 1;
  },
);
