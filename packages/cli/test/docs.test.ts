/**
 * `pnpm docs` (TypeDoc over the library packages, ../../typedoc.json) converts without a warning:
 * a doc comment's broken link, an exported signature naming a type nobody can import, an entry
 * point gone. Validation only (--emit none): nothing is written.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runProcess } from '../src/cli-testing.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

describe('pnpm docs', () => {
  it('converts every package with no warning', async () => {
    const r = await runProcess(process.execPath, [path.join(ROOT, 'node_modules/typedoc/bin/typedoc'), '--emit', 'none', '--logLevel', 'Warn'], { cwd: ROOT });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 300_000);
});
