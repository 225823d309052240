/**
 * The examples of the guides in docs/ (examples/ at the repository's root) typecheck and run as a
 * user runs them, with tsx; their output says what they checked.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onnxCheckerMissing } from '@tessera/compiler/node';
import { maxAbsDiff } from '@tessera/graph-dsl';
import { readSafetensorsFile, writeSafetensorsFile } from '@tessera/safetensors';
import { afterAll, describe, expect, it } from 'vitest';
import { runProcess } from '../src/cli-testing.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const dir = mkdtempSync(path.join(tmpdir(), 'tessera-examples-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A command typed in the repository's root (INIT_CWD says so: the repository's bin takes the
 * caller's directory from it); its stdout and stderr as one text.
 */
async function run(command: string, args: readonly string[]): Promise<{ status: number | null; out: string }> {
  const { status, stdout, stderr } = await runProcess(command, args, { cwd: ROOT, env: { ...process.env, INIT_CWD: ROOT } });
  return { status, out: stdout + stderr };
}

describe('examples/prenorm-block (docs/write-your-own-model.md)', () => {
  it('typechecks', async () => {
    const r = await run(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'examples/tsconfig.json', '--noEmit']);
    expect(r.out).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);

  it('traces, compiles, runs on tfjs, exports ONNX that onnx.checker accepts, and ONNX Runtime agrees with tfjs', async () => {
    if (onnxCheckerMissing() && process.env.CI) throw new Error(`onnx.checker is required in CI: ${onnxCheckerMissing()}`);
    const onnx = path.join(dir, 'block.onnx');
    const r = await run(path.join(ROOT, 'node_modules/.bin/tsx'), ['examples/prenorm-block/main.ts', onnx]);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/^traced \d+ nodes, \d+ after compile; 12 parameters$/m);
    expect(r.out).toMatch(/^tfjs \((tfjs-node|wasm|cpu)\): output \[2, 10, 64\]$/m);
    expect(r.out).toMatch(new RegExp(`^wrote ${onnx.replace(/[.\\/]/g, '\\$&')} \\(\\d+ bytes\\); onnx.checker: ${onnxCheckerMissing() ? 'skipped' : 'ok$'}`, 'm'));
    expect(existsSync(onnx)).toBe(true);
    const diff = Number(/^onnxruntime vs tfjs: max abs diff (\S+)$/m.exec(r.out)?.[1]);
    expect(diff).toBeLessThan(1e-4);
  }, 120_000);

  it('block.ts is a model file for the CLI, and runs a PyTorch state_dict of the same block like PyTorch (torch_reference.py)', async () => {
    const tessera = (...argv: string[]) => run(process.execPath, [path.join(ROOT, 'packages/cli/bin/tessera.mjs'), ...argv]);
    const io = readSafetensorsFile(path.join(ROOT, 'examples/prenorm-block/torch_io.safetensors')).tensors;
    const inputs = path.join(dir, 'x.safetensors');
    const output = path.join(dir, 'y.safetensors');
    writeSafetensorsFile(inputs, new Map([['x', io.get('x')!]]));
    const [summary, ran] = await Promise.all([
      tessera('summary', 'examples/prenorm-block/block.ts', '--json'),
      tessera('run', 'examples/prenorm-block/block.ts', '--weights', 'examples/prenorm-block/torch_weights.safetensors', '--inputs', inputs, '--output', output, '--backend', 'cpu'),
    ]);
    expect(summary.status, summary.out).toBe(0);
    expect(JSON.parse(summary.out)).toMatchObject({ model: 'examples/prenorm-block/block.ts', inputs: { x: 'f32[B, T, 64]' }, parameters: 49_984 });
    expect(ran.status, ran.out).toBe(0);
    const y = readSafetensorsFile(output).tensors.get('output')!;
    expect(y.shape).toEqual([2, 5, 64]);
    expect(maxAbsDiff(y, io.get('y')!)).toBeLessThan(1e-5);
  }, 60_000);
});
