import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { isUserModule, resolve } from './model-hooks.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'tessera-hooks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const url = (...parts: string[]) => pathToFileURL(path.join(dir, ...parts)).href;
const project = (name: string, manifest?: object) => {
  mkdirSync(path.join(dir, name, 'node_modules/dep'), { recursive: true });
  if (manifest) writeFileSync(path.join(dir, name, 'package.json'), JSON.stringify(manifest));
};

describe('model hooks', () => {
  it('load a source file as an ES module unless its package says commonjs; never a dependency', () => {
    project('bare');
    project('plain', { name: 'plain' });
    project('cjs', { type: 'commonjs' });
    expect(isUserModule(url('bare/model.ts'))).toBe(true);
    expect(isUserModule(url('bare/model.js'))).toBe(true);
    expect(isUserModule(url('plain/model.ts'))).toBe(true);
    expect(isUserModule(url('cjs/model.ts'))).toBe(false);
    expect(isUserModule(url('cjs/model.mts'))).toBe(true);
    expect(isUserModule(url('bare/node_modules/dep/index.js'))).toBe(false);
    expect(isUserModule(url('bare/weights.json'))).toBe(false);
    expect(isUserModule('node:fs')).toBe(false);
  });

  it('resolve @tessera/* from the CLI itself, whatever the importer', async () => {
    const seen: { specifier: string; parentURL?: string }[] = [];
    const next = (specifier: string, context: { parentURL?: string }) => {
      seen.push({ specifier, parentURL: context.parentURL });
      return { url: url('bare/other.ts') };
    };
    const context = { parentURL: url('bare/model.ts'), conditions: ['node', 'import'] };
    await resolve('@tessera/graph-dsl/node', context, next);
    expect(seen[0]!.parentURL).toMatch(/\/packages\/cli\/src\/model-hooks\.ts$/);
    expect(await resolve('./other.ts', context, next)).toEqual({ url: url('bare/other.ts'), format: 'module' });
    expect(seen[1]!.parentURL).toBe(context.parentURL);
  });
});
