#!/usr/bin/env node
// The `tessera` command inside the repository: the CLI's TypeScript source, compiled on the fly
// by tsx, so that `pnpm tessera` needs no build. The packed package's bin is the built
// dist/cli.js instead (publishConfig.bin in package.json).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

// `pnpm -C REPO exec tessera ... --onnx out.onnx` runs this in the repository's root: the user's
// paths are relative to where they typed it, which pnpm and npm pass as INIT_CWD
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const caller = process.env.INIT_CWD;
if (caller && path.resolve(process.cwd()) === root && path.resolve(caller) !== root) process.chdir(caller);

register();
await import('../src/cli.ts');
