#!/usr/bin/env node
// The `tessera` command inside the repository: the CLI's TypeScript source, compiled on the fly
// by tsx, so that `pnpm tessera` needs no build. The packed package's bin is the built
// dist/cli.js instead (publishConfig.bin in package.json).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
